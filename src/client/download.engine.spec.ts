import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeFileServer, type FakeServerOptions } from '../../test/helpers/fake-file-server.js';
import { md5Hex } from '../common/md5.js';
import { DownloadState } from './download-state.js';
import { downloadFile, PARTIAL_SUFFIX } from './download.engine.js';
import { StepClient } from './step-client.js';
import { BlockIntegrityError } from './transfer-retry.js';

const FAST_RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20, stallMs: 5000 };

describe('DownloadEngine', () => {
  let dir: string;
  let server: FakeFileServer;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-download-spec-'));
  });
  afterEach(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(options: FakeServerOptions, data: Buffer): Promise<StepClient> {
    server = new FakeFileServer(options);
    const port = await server.start();
    server.seed(
      'k',
      data,
      4096,
      Array.from({ length: Math.ceil(data.length / 4096) }, (_, i) => i),
    );
    return new StepClient({ host: '127.0.0.1', port, username: 'alice', timeoutMs: 5000 });
  }

  it('fetches blocks in parallel, verifies the MD5 and renames into place', async () => {
    const data = randomBytes(90_001);
    const client = await setup({}, data);
    const out = join(dir, 'out.bin');
    const result = await downloadFile(client, {
      key: 'k',
      out,
      blockSize: 4096,
      connections: 3,
      inFlightPerConnection: 2,
      retry: FAST_RETRY,
    });
    expect(result).toMatchObject({ size: data.length, md5: md5Hex(data), verified: true, resumedBlocks: 0, totalBlocks: 22 });
    expect((await readFile(out)).equals(data)).toBe(true);
    await expect(stat(out + PARTIAL_SUFFIX)).rejects.toThrow();
  });

  it('resumes from the partial file and its state, fetching only missing blocks', async () => {
    const data = randomBytes(10 * 4096);
    const client = await setup({}, data);
    const out = join(dir, 'out.bin');
    const partial = out + PARTIAL_SUFFIX;
    await writeFile(partial, Buffer.concat([data.subarray(0, 4 * 4096), Buffer.alloc(6 * 4096)]));
    const state = await DownloadState.load(`${partial}.state`, 'k', { size: data.length, blockSize: 4096, totalBlocks: 10 }, md5Hex(data));
    state.received.fill(1, 0, 4);
    await state.save();
    const result = await downloadFile(client, { key: 'k', out, blockSize: 4096, retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true, resumedBlocks: 4 });
    expect((await readFile(out)).equals(data)).toBe(true);
  });

  it('never writes through a symlink planted as the partial file', async () => {
    const data = randomBytes(3 * 4096);
    const client = await setup({}, data);
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious');
    for (const resume of [false, true]) {
      const out = join(dir, `out-${resume}.bin`);
      const partial = out + PARTIAL_SUFFIX;
      await symlink(victim, partial);
      if (resume) {
        // A state that lists blocks makes the client reopen the partial file instead of creating it.
        const state = await DownloadState.load(
          `${partial}.state`,
          'k',
          { size: data.length, blockSize: 4096, totalBlocks: 3 },
          md5Hex(data),
        );
        state.received.fill(1, 0, 1);
        await state.save();
      }
      const result = await downloadFile(client, { key: 'k', out, blockSize: 4096, retry: FAST_RETRY });
      expect(result).toMatchObject({ md5: md5Hex(data), verified: true });
      expect(await readFile(victim, 'utf8')).toBe('precious');
      expect((await lstat(out)).isSymbolicLink()).toBe(false);
      expect((await readFile(out)).equals(data)).toBe(true);
    }
  });

  it('adapts by default: starts at 32 KiB, grows aligned spans on a fast link, and the file is exact', async () => {
    const data = randomBytes(24 * 1024 * 1024 + 777);
    const client = await setup({}, data);
    const out = join(dir, 'out.bin');
    const result = await downloadFile(client, { key: 'k', out, retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true, connections: 4, oldServer: false });
    expect((await readFile(out)).equals(data)).toBe(true);
    expect(server.downloadSizes[0]).toBe(32 * 1024);
    expect(Math.max(...server.downloadSizes)).toBeGreaterThanOrEqual(1024 * 1024);
    expect(result.blockSize).toBeGreaterThan(32 * 1024);
  });

  it('after a network failure fetches the failed span in halves', async () => {
    const data = randomBytes(64 * 4096);
    const client = await setup({ dropOnDownload: 1 }, data);
    const out = join(dir, 'out.bin');
    const result = await downloadFile(client, { key: 'k', out, retry: FAST_RETRY, connections: 1 });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true });
    expect((await readFile(out)).equals(data)).toBe(true);
    // The first 32 KiB spans were dropped with their connection; they came back in 16 KiB halves.
    expect(server.downloadSizes[0]).toBe(32 * 1024);
    expect(server.downloadSizes.filter((size) => size === 16 * 1024).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses blocks that fail their block_md5 and gives up after the bounded retries', async () => {
    const client = await setup({ corruptDownloads: true }, randomBytes(5000));
    const failure = await downloadFile(client, { key: 'k', out: join(dir, 'out.bin'), blockSize: 4096, retry: FAST_RETRY }).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(BlockIntegrityError);
    await expect(stat(join(dir, 'out.bin'))).rejects.toThrow();
  });

  it('on a link that breaks large frames, goes on with smaller spans and completes', async () => {
    const data = randomBytes(2_000_000);
    const client = await setup({ maxBinaryBytes: 20_000 }, data);
    const out = join(dir, 'out.bin');
    const result = await downloadFile(client, { key: 'k', out, retry: FAST_RETRY });
    expect(result).toMatchObject({ md5: md5Hex(data), verified: true });
    expect((await readFile(out)).equals(data)).toBe(true);
    expect(server.downloadSizes[0]).toBe(32 * 1024);
    expect(result.blockSize).toBeLessThanOrEqual(16 * 1024);
    // Once the link has failed, new spans start small instead of each failing at 32 KiB first.
    expect(server.downloadSizes.filter((size) => size > 20_000).length).toBeLessThanOrEqual(10);
  });
});
