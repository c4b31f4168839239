import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeFileServer, type FakeServerOptions } from '../../test/helpers/fake-file-server.js';
import { md5Hex } from '../common/md5.js';
import { StepClient, StepStatusError } from './step-client.js';
import { StepConnectionError } from './step-client.connection.js';
import { uploadFile } from './upload.engine.js';

const FAST_RETRY = { attempts: 5, baseDelayMs: 5, maxDelayMs: 20, stallMs: 5000 };

describe('UploadEngine', () => {
  let dir: string;
  let server: FakeFileServer;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-upload-spec-'));
  });
  afterEach(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(options: FakeServerOptions, bytes: number): Promise<{ client: StepClient; path: string; data: Buffer }> {
    server = new FakeFileServer(options);
    const port = await server.start();
    const data = randomBytes(bytes);
    const path = join(dir, 'f.bin');
    await writeFile(path, data);
    return { client: new StepClient({ host: '127.0.0.1', port, username: 'alice', timeoutMs: 5000 }), path, data };
  }

  it('sends every block pipelined over several connections and verifies the MD5', async () => {
    const { client, path, data } = await setup({}, 100_000 + 7);
    const progress: number[] = [];
    const result = await uploadFile(client, {
      path,
      key: 'k',
      blockSize: 4096,
      connections: 3,
      retry: FAST_RETRY,
      onProgress: (p) => progress.push(p.doneBytes),
    });
    expect(result).toMatchObject({
      key: 'k',
      size: data.length,
      md5: md5Hex(data),
      verified: true,
      resumedBlocks: 0,
      blockSize: 4096,
      totalBlocks: 25,
    });
    expect(server.uploads.get('k')!.data.equals(data)).toBe(true);
    expect(server.uploadRequests).toBe(25);
    expect(progress[progress.length - 1]).toBe(data.length);
  });

  it('resumes: asks STATUS and sends only the blocks the server is missing', async () => {
    const { client, path, data } = await setup({}, 10 * 4096 + 1);
    server.seed('k', Buffer.concat([data.subarray(0, 6 * 4096), Buffer.alloc(data.length - 6 * 4096)]), 4096, [0, 1, 2, 3, 4, 5]);
    const result = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true, resumedBlocks: 6, totalBlocks: 11 });
    expect(server.uploadRequests).toBe(5);
  });

  it('resumes from a truncated STATUS: blocks past the listed ranges count as missing', async () => {
    const { client, path, data } = await setup({ statusRangeLimit: 2 }, 12 * 4096);
    const kept = [0, 2, 4, 6, 8, 10];
    const partial = Buffer.alloc(data.length);
    for (const i of kept) data.copy(partial, i * 4096, i * 4096, (i + 1) * 4096);
    server.seed('k', partial, 4096, kept);
    const result = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true });
    expect(server.uploads.get('k')!.data.equals(data)).toBe(true);
  });

  it('retries blocks on a new connection when one dies mid-upload', async () => {
    const { client, path, data } = await setup({ dropOnUpload: 4 }, 20 * 4096);
    const result = await uploadFile(client, { path, key: 'k', blockSize: 4096, connections: 2, retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true });
    expect(server.uploads.get('k')!.data.equals(data)).toBe(true);
  });

  it('works against an old server: 20480-byte blocks and no STATUS', async () => {
    const { client, path, data } = await setup({ legacy: true }, 50_000);
    const result = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true, blockSize: 20480, totalBlocks: 3, resumedBlocks: 0 });
  });

  it('reports verified false when the blocks the server kept belong to other content', async () => {
    const { client, path, data } = await setup({}, 3 * 4096);
    server.seed('k', randomBytes(data.length), 4096, [0, 1]);
    const result = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: false, resumedBlocks: 2 });
    expect(result.serverMd5).not.toBe(md5Hex(data));
  });

  it('reports the server status when the plan is refused', async () => {
    const { client, path } = await setup({ legacy: true }, 10);
    server.seed('k', Buffer.alloc(3), 4096, [0]);
    const failure = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StepStatusError);
    expect((failure as StepStatusError).status).toBe(402);
  });

  it('on a link that breaks large frames, restarts with smaller blocks while nothing is acknowledged', async () => {
    // Frames over 20000 bytes of block break their connection: the 32 KiB start size never goes through.
    const { client, path, data } = await setup({ maxBinaryBytes: 20_000 }, 300_000);
    const result = await uploadFile(client, { path, key: 'k', retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true, blockSize: 16 * 1024 });
    expect(server.uploads.get('k')!.data.equals(data)).toBe(true);
  });

  it('with a forced block size keeps it, and the give-up message names the options to try', async () => {
    const { client, path } = await setup({ maxBinaryBytes: 20_000 }, 100_000);
    const failure = await uploadFile(client, { path, key: 'k', blockSize: 32 * 1024, retry: FAST_RETRY }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StepConnectionError);
    expect((failure as Error).message).toMatch(/--block-size/);
    expect((failure as Error).message).toMatch(/--connections/);
    expect(server.uploads.get('k')!.blockSize).toBe(32 * 1024);
  });
});
