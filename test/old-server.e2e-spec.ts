import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { runCli } from './helpers/cli-process.js';
import { FakeFileServer } from './helpers/fake-file-server.js';

const MiB = 1024 * 1024;

/**
 * Issue 12: an old server (no STATUS, 20480-byte blocks) that reads each frame with recv calls
 * which may swallow the start of the next one. Pipelining corrupts both requests, so the client
 * must keep one request in flight per connection once STATUS says "operation not allowed".
 */
describe('step against an old server that cannot take pipelined requests', { timeout: 120_000 }, () => {
  let server: FakeFileServer;
  let address: string;
  let dir: string;

  beforeAll(async () => {
    server = new FakeFileServer({ legacy: true, overReading: true });
    address = `127.0.0.1:${await server.start()}`;
    dir = await mkdtemp(join(tmpdir(), 'step-old-server-'));
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads and downloads 10 MiB with default options, one request in flight per connection', async () => {
    const data = randomBytes(10 * MiB);
    const path = join(dir, 'ten.bin');
    await writeFile(path, data);
    const up = await runCli(['--server', address, '--user', 'alice', '--json', 'upload', path, '--key', 'ten'], {}, 100_000);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ size: data.length, md5: md5Hex(data), verified: true });
    expect(server.uploads.get('ten')!.data.equals(data)).toBe(true);

    const out = join(dir, 'ten.out');
    const down = await runCli(['--server', address, '--user', 'alice', '--json', 'download', 'ten', '-o', out], {}, 100_000);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ size: data.length, md5: md5Hex(data), verified: true });
    expect((await readFile(out)).equals(data)).toBe(true);
    // Nothing was ever read past a frame's end: no request was sent before the previous reply.
    expect(server.droppedBytes).toBe(0);
  });
});
