import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { runCli } from './helpers/cli-process.js';
import { PacingProxy } from '../bench/pacing-proxy.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const MiB = 1024 * 1024;

/**
 * Issue 12: `step upload` / `step download` with default options over slow links, shaped in user
 * space by a pacing proxy (one proxy, so one shared link, per case). The sizes are the smallest
 * that broke the old client (4 MiB blocks x 2 in flight x 4 connections, 30 s reply timer): at
 * 2 Mbit/s two 4 MiB blocks share the link for more than 30 s, at 1 Mbit/s one does. The cases
 * run concurrently, each on its own link, so the file takes about as long as its slowest case.
 */
describe.concurrent('slow links with default client options', { timeout: 150_000 }, () => {
  let app: TestApp;
  let dir: string;
  const proxies: PacingProxy[] = [];
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    app = await startTestApp();
    dir = await mkdtemp(join(tmpdir(), 'step-slow-links-'));
    // The download sources are uploaded directly (no proxy), so only the download crosses the link.
    for (const [name, size] of [
      ['dl-2mbit', 9 * MiB],
      ['dl-1mbit', 5 * MiB],
    ] as const) {
      const data = randomBytes(size);
      files.set(name, data);
      await writeFile(join(dir, name), data);
      const run = await runCli(['--server', `127.0.0.1:${app.stepAddress.port}`, '--user', 'alice', 'upload', join(dir, name)]);
      expect(run.code, run.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    for (const proxy of proxies) await proxy.stop();
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function link(bitsPerSecond: number): Promise<string> {
    const proxy = new PacingProxy({ targetPort: app.stepAddress.port, bitsPerSecond, addedRttMs: 20 });
    proxies.push(proxy);
    return `127.0.0.1:${await proxy.start()}`;
  }

  for (const [label, bitsPerSecond, size] of [
    ['2 Mbit/s', 2_000_000, 9 * MiB],
    ['1 Mbit/s', 1_000_000, 5 * MiB],
  ] as const) {
    it(`uploads ${size / MiB} MiB over ${label}`, async () => {
      const server = await link(bitsPerSecond);
      const data = randomBytes(size);
      const path = join(dir, `up-${bitsPerSecond}`);
      await writeFile(path, data);
      const run = await runCli(['--server', server, '--user', 'alice', '--json', 'upload', path], {}, 140_000);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ size, md5: md5Hex(data), verified: true });
    });

    it(`downloads ${size / MiB} MiB over ${label}`, async () => {
      const server = await link(bitsPerSecond);
      const name = bitsPerSecond === 2_000_000 ? 'dl-2mbit' : 'dl-1mbit';
      const out = join(dir, `${name}.out`);
      const run = await runCli(['--server', server, '--user', 'alice', '--json', 'download', name, '-o', out], {}, 140_000);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ size, verified: true });
      expect((await readFile(out)).equals(files.get(name)!)).toBe(true);
    });
  }
});
