import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepClient } from '../src/client/step-client.js';
import { md5Hex } from '../src/common/md5.js';
import { StepOperation, StepType } from '../src/protocol/index.js';
import { freePort, runCli, spawnCli, waitForCli } from './helpers/cli-process.js';
import { startServerProcess } from './helpers/server-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** Small blocks make an upload take thousands of requests, long enough to interrupt it. */
const SMALL_BLOCK = '4096';

/** Polls STATUS until the server holds at least one block of `key` (bounded in time). */
async function waitForSomeBlocks(port: number, key: string, timeoutMs = 30_000): Promise<number> {
  const client = new StepClient({ host: '127.0.0.1', port, username: 'alice', timeoutMs: 5000 });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const status = await client.call(StepType.FILE, StepOperation.STATUS, { key }).catch(() => null);
      const received = status?.json.received_count;
      if (typeof received === 'number' && received > 0) return received;
      await sleep(20);
    }
  } finally {
    client.close();
  }
  throw new Error(`no block of ${key} arrived within ${timeoutMs} ms`);
}

/** Polls `check` every 20 ms until it holds (bounded in time). */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** STATUS of a key as JSON. */
async function statusOf(port: number, key: string): Promise<Record<string, unknown>> {
  const client = new StepClient({ host: '127.0.0.1', port, username: 'alice', timeoutMs: 5000 });
  try {
    return (await client.call(StepType.FILE, StepOperation.STATUS, { key })).json;
  } finally {
    client.close();
  }
}

describe('step upload resumes after interruptions', { timeout: 180_000 }, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-cli-resume-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('the CLI killed mid-upload', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(async () => app.stop());

    it('sends only the missing blocks when re-run, with the same md5', async () => {
      const data = randomBytes(24 * 1024 * 1024 + 5);
      const path = join(dir, 'killed.bin');
      await writeFile(path, data);
      const server = `127.0.0.1:${app.stepAddress.port}`;
      const args = ['--server', server, '--user', 'alice', '--json', 'upload', path, '--block-size', SMALL_BLOCK, '--connections', '1'];
      const first = spawnCli(args);
      const firstRun = waitForCli(first, 60_000);
      await waitForSomeBlocks(app.stepAddress.port, 'killed.bin');
      first.kill('SIGKILL');
      expect((await firstRun).signal).toBe('SIGKILL');
      const between = await statusOf(app.stepAddress.port, 'killed.bin');
      expect(between.complete).toBe(false);
      expect(between.received_count as number).toBeGreaterThan(0);

      const second = await runCli(args, {}, 120_000);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      const result = JSON.parse(second.stdout) as Record<string, unknown>;
      expect(result).toMatchObject({ key: 'killed.bin', size: data.length, md5: md5Hex(data), verified: true });
      expect(result.resumed_blocks as number).toBeGreaterThanOrEqual(between.received_count as number);
      expect(result.resumed_blocks as number).toBeLessThan(Math.ceil(data.length / 4096));
      expect(await statusOf(app.stepAddress.port, 'killed.bin')).toMatchObject({ complete: true, md5: md5Hex(data) });
    });
  });

  describe('the CLI killed mid-download', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(async () => app.stop());

    it('keeps the received blocks and fetches only the rest when re-run', async () => {
      const data = randomBytes(24 * 1024 * 1024 + 9);
      const path = join(dir, 'source.bin');
      await writeFile(path, data);
      const server = `127.0.0.1:${app.stepAddress.port}`;
      expect((await runCli(['--server', server, '--user', 'alice', 'upload', path])).code).toBe(0);
      const out = join(dir, 'fetched.bin');
      const args = [
        '--server',
        server,
        '--user',
        'alice',
        '--json',
        'download',
        'source.bin',
        '-o',
        out,
        '--block-size',
        SMALL_BLOCK,
        '--connections',
        '1',
      ];
      const first = spawnCli(args);
      const firstRun = waitForCli(first, 60_000);
      await waitFor(async () => (await stat(`${out}.step-partial.state`).catch(() => null)) !== null, 30_000);
      first.kill('SIGKILL');
      expect((await firstRun).signal).toBe('SIGKILL');

      const second = await runCli(args, {}, 120_000);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      const result = JSON.parse(second.stdout) as Record<string, unknown>;
      expect(result).toMatchObject({ size: data.length, md5: md5Hex(data), verified: true });
      expect(result.resumed_blocks as number).toBeGreaterThan(0);
      expect((await readFile(out)).equals(data)).toBe(true);
      await expect(stat(`${out}.step-partial.state`)).rejects.toThrow();
    });
  });

  describe('the server killed and restarted mid-upload', () => {
    it('retries until the server is back and completes the upload', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'step-cli-restart-data-'));
      const port = await freePort();
      const env = { STEP_PORT: String(port) };
      let server = await startServerProcess(dataDir, env);
      try {
        const data = randomBytes(24 * 1024 * 1024 + 3);
        const path = join(dir, 'restart.bin');
        await writeFile(path, data);
        const cli = spawnCli([
          '--server',
          `127.0.0.1:${port}`,
          '--user',
          'alice',
          '--json',
          '--timeout',
          '60',
          'upload',
          path,
          '--block-size',
          SMALL_BLOCK,
        ]);
        const run = waitForCli(cli, 120_000);
        await waitForSomeBlocks(port, 'restart.bin');
        const beforeKill = await statusOf(port, 'restart.bin');
        await server.kill();
        // The kill has to land mid-upload for this test to mean anything.
        expect(beforeKill.complete).toBe(false);
        await sleep(300);
        server = await startServerProcess(dataDir, env);
        const done = await run;
        expect(done.stderr).toBe('');
        expect(done.code).toBe(0);
        expect(JSON.parse(done.stdout)).toMatchObject({ key: 'restart.bin', size: data.length, md5: md5Hex(data), verified: true });
        expect(await statusOf(port, 'restart.bin')).toMatchObject({ complete: true, md5: md5Hex(data) });
      } finally {
        await server.kill();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
});
