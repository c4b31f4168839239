import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { freePort, runCli, type CliRun } from './helpers/cli-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Every case starts the CLI as a process (a second or more each on a busy 2-core VM).
describe('step CLI (built, as a child process) against a real stepd', { timeout: 180_000 }, () => {
  let app: TestApp;
  let dir: string;
  let server: string;

  /** Runs `step --server <app> --user alice ARGS`. */
  const step = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
    runCli(['--server', server, '--user', 'alice', ...args], env);

  beforeAll(async () => {
    app = await startTestApp();
    server = `127.0.0.1:${app.stepAddress.port}`;
    dir = await mkdtemp(join(tmpdir(), 'step-cli-e2e-'));
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('login, options and environment', () => {
    it('prints the token, or exactly one JSON object with --json', async () => {
      const text = await step(['login']);
      expect(text.code).toBe(0);
      expect(text.stdout.trim()).toMatch(/^[A-Za-z0-9+/]+=*$/);
      const json = await step(['login', '--json']);
      expect(json.code).toBe(0);
      const parsed = JSON.parse(json.stdout) as { user: string; token: string };
      expect(parsed.user).toBe('alice');
      expect(Buffer.from(parsed.token, 'base64').toString()).toMatch(/^alice\.\d{14}\.login\.[0-9a-f]{32}$/);
    });

    it('takes server, user and password from STEP_SERVER, STEP_USER and STEP_PASSWORD', async () => {
      const ok = await runCli(['--json', 'login'], { STEP_SERVER: server, STEP_USER: 'bob', STEP_PASSWORD: md5Hex('bob') });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ user: 'bob' });
      const wrong = await runCli(['login'], { STEP_SERVER: server, STEP_USER: 'bob', STEP_PASSWORD: 'not-it' });
      expect(wrong.code).toBe(4);
    });

    it('exits 4 naming status 401 for a wrong --password, with one JSON error object on stdout', async () => {
      const run = await step(['--password', 'wrong', '--json', 'login']);
      expect(run.code).toBe(4);
      expect(JSON.parse(run.stdout)).toEqual({
        error: { message: expect.stringMatching(/^401 /) as unknown, status: 401, retryable: false },
      });
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^step: login failed: 401 /);
    });

    it('exits 5 (retryable) with a clear message when the server is unreachable', async () => {
      const port = await freePort();
      const path = join(dir, 'unsent.bin');
      await writeFile(path, randomBytes(10));
      const run = await runCli(['--server', `127.0.0.1:${port}`, '--user', 'alice', '--timeout', '5', 'upload', path]);
      expect(run.code).toBe(5);
      expect(run.stderr).toMatch(/^step: upload failed: Cannot connect to .*ECONNREFUSED/);
      const login = await runCli(['--server', `127.0.0.1:${port}`, '--user', 'alice', '--json', 'login']);
      expect(login.code).toBe(5);
      expect(JSON.parse(login.stdout)).toMatchObject({ error: { retryable: true } });
      expect(login.stderr).toMatch(new RegExp(`step: login failed: Cannot connect to 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    });

    it.each([
      [[] as string[], /missing command/],
      [['fly'], /too many arguments|unknown command/],
      [['upload'], /missing FILE/],
      [['upload', tmpdir(), '--prefix', 'p/'], /is a directory: pass -r/],
      [['upload', 'a', 'b', '--key', 'k'], /--key takes exactly one FILE/],
      [['upload', '-'], /needs --key/],
      [['upload', '--block-size', '4 parsecs', 'f'], /--block-size must be a size/],
      [['ls', '--limit', '1000001'], /--limit must be an integer from 1 to 1000000/],
      [['download', 'k', '-o', '-', '--json'], /--json cannot be used with -o -/],
      [['login', '--bogus'], /unknown option/],
      [['--json', 'login', '--bogus'], /unknown option/],
      [['upload', 'f', '--connections', '0'], /--connections must be an integer/],
      [['upload', 'f', '--block-size', 'big'], /--block-size must be a size/],
      [['--timeout', '-1', 'login'], /--timeout/],
      [['--server', 'host:99999', 'login'], /--server port/],
      [['data', 'put', 'k', '[1,2]'], /JSON object/],
      [['data', 'put', 'k', '{"token":1}'], /protocol field/],
      [['data'], /missing data command/],
    ])('exits 2 for the usage error %j', async (args, message) => {
      const run = await step(args);
      expect(run.code).toBe(2);
      // --json: the error object on stdout; otherwise stdout stays empty.
      if (args.includes('--json')) expect(JSON.parse(run.stdout)).toMatchObject({ error: { retryable: false } });
      else expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
    });

    it('exits 2 when no user is given anywhere', async () => {
      const run = await runCli(['--server', server, 'login']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/no user/);
    });

    it('prints help with exit code 0', async () => {
      const run = await runCli(['upload', '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/--block-size/);
    });
  });

  describe('files', () => {
    it.each([
      ['1 byte', 1],
      ['an odd size', 20480 * 3 + 17],
      ['tens of MiB', 24 * 1024 * 1024 + 123],
    ])('round-trips %s with equal md5 (upload, status, ls, download)', async (_name, size) => {
      const data = randomBytes(size);
      const path = join(dir, `rt-${size}.bin`);
      await writeFile(path, data);
      const up = await step(['--json', 'upload', path]);
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      const result = JSON.parse(up.stdout) as Record<string, unknown>;
      expect(Object.keys(result).sort()).toEqual(['bytes_per_second', 'key', 'md5', 'resumed_blocks', 'seconds', 'size', 'verified']);
      expect(result).toMatchObject({ key: `rt-${size}.bin`, size, md5: md5Hex(data), verified: true, resumed_blocks: 0 });
      expect(typeof result.seconds).toBe('number');
      expect(typeof result.bytes_per_second).toBe('number');

      const status = await step(['--json', 'status', `rt-${size}.bin`]);
      expect(JSON.parse(status.stdout)).toMatchObject({ complete: true, md5: md5Hex(data), size });
      const ls = await step(['--json', 'ls', '--prefix', `rt-${size}.`]);
      expect(JSON.parse(ls.stdout)).toMatchObject({ files: [{ key: `rt-${size}.bin`, size, md5: md5Hex(data) }] });

      const out = join(dir, `rt-${size}.out`);
      const down = await step(['--json', 'download', `rt-${size}.bin`, '-o', out]);
      expect(down.code).toBe(0);
      expect(JSON.parse(down.stdout)).toMatchObject({ key: `rt-${size}.bin`, path: out, size, md5: md5Hex(data), verified: true });
      expect(md5Hex(await readFile(out))).toBe(md5Hex(data));
      await expect(stat(`${out}.step-partial`)).rejects.toThrow();
    });

    it('honours --key, --connections and a small --block-size', async () => {
      const data = randomBytes(300_001);
      const path = join(dir, 'small-blocks.bin');
      await writeFile(path, data);
      const up = await step(['upload', path, '--key', 'dir/custom key', '--connections', '2', '--block-size', '20480']);
      expect(up.code).toBe(0);
      expect(up.stdout).toMatch(/dir\/custom key .*verified/);
      const status = await step(['--json', 'status', 'dir/custom key']);
      expect(JSON.parse(status.stdout)).toMatchObject({ block_size: 20480, total_block: 15, complete: true });
      const down = await step(['download', 'dir/custom key', '-o', join(dir, 'custom.out'), '--block-size', '8192']);
      expect(down.code).toBe(0);
      expect((await readFile(join(dir, 'custom.out'))).equals(data)).toBe(true);
    });

    it('deletes a key, and then reports 404 for it', async () => {
      const path = join(dir, 'doomed.bin');
      await writeFile(path, randomBytes(1000));
      expect((await step(['upload', path])).code).toBe(0);
      const del = await step(['--json', 'delete', 'doomed.bin']);
      expect(del.code).toBe(0);
      expect(JSON.parse(del.stdout)).toEqual({ key: 'doomed.bin', deleted: true });
      const again = await step(['delete', 'doomed.bin']);
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/^step: delete failed: 404 /);
    });

    it('exits 3 naming 404 for an unknown key', async () => {
      const down = await step(['download', 'no-such-key', '-o', join(dir, 'never')]);
      expect(down.code).toBe(3);
      expect(down.stderr).toBe('step: download failed: 404 The key no-such-key is not existing.\n');
      const status = await step(['status', 'no-such-key']);
      expect(status.code).toBe(3);
      expect(status.stderr).toMatch(/^step: status failed: 404 /);
    });

    it('exits 1 naming 402 when the key is already taken by another file', async () => {
      const a = join(dir, 'taken-a.bin');
      const b = join(dir, 'taken-b.bin');
      await writeFile(a, randomBytes(100));
      await writeFile(b, randomBytes(200));
      expect((await step(['upload', a, '--key', 'taken'])).code).toBe(0);
      const run = await step(['upload', b, '--key', 'taken']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^step: upload failed: 402 .*Pass --force to replace it/);
    });
  });

  describe('data records', () => {
    it('puts, gets, lists and deletes a record', async () => {
      const put = await step(['--json', 'data', 'put', 'cfg', '{"colour":"blue","n":3,"nested":{"a":[1,2]}}']);
      expect(put.code).toBe(0);
      expect(JSON.parse(put.stdout)).toEqual({ key: 'cfg' });
      const get = await step(['--json', 'data', 'get', 'cfg']);
      expect(JSON.parse(get.stdout)).toEqual({ key: 'cfg', value: { colour: 'blue', n: 3, nested: { a: [1, 2] } } });
      const text = await step(['data', 'get', 'cfg']);
      expect(JSON.parse(text.stdout)).toEqual({ colour: 'blue', n: 3, nested: { a: [1, 2] } });
      const ls = await step(['--json', 'data', 'ls']);
      expect(JSON.parse(ls.stdout)).toMatchObject({ keys: expect.arrayContaining(['cfg']) as unknown });
      expect((await step(['data', 'delete', 'cfg'])).code).toBe(0);
      const gone = await step(['data', 'get', 'cfg']);
      expect(gone.code).toBe(3);
      expect(gone.stderr).toMatch(/^step: data get failed: 404 /);
    });
  });
});
