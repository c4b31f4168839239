import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, CLI_HOME, runCli, type CliRun } from './helpers/cli-process.js';
import { fileRequest } from './helpers/step-files.js';
import { login, startTestApp, type TestApp } from './helpers/test-app.js';

// The built `step`: ls paging, sizes, --incomplete; help, completion, --quiet and the progress bar.
describe('step ls, help, completion and progress', { timeout: 120_000 }, () => {
  let app: TestApp;
  let dir: string;
  let server: string;
  const step = (args: string[]): Promise<CliRun> => runCli(['--server', server, '--user', 'frank', ...args]);

  beforeAll(async () => {
    app = await startTestApp();
    server = `127.0.0.1:${app.stepAddress.port}`;
    dir = await mkdtemp(join(tmpdir(), 'step-listing-e2e-'));
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pages through more than one LIST page; --limit stops early; sizes are human unless --bytes', async () => {
    // 1005 empty files (C7 completes them at SAVE), pipelined on one connection.
    const conn = await app.connect();
    const token = await login(conn, 'frank');
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    const replies = await Promise.all(keys.map((key) => conn.request(fileRequest(token, 'SAVE', { key, size: 0 }))));
    expect(replies.every((r) => r.json.status === 200)).toBe(true);
    const all = await step(['--json', 'ls', '--prefix', 'many/']);
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { files: Array<{ key: string }> }).files.map((f) => f.key)).toEqual(keys);
    const some = await step(['ls', '--prefix', 'many/', '--limit', '1002']);
    expect(some.stdout.trim().split('\n')).toHaveLength(1002);
    const path = join(dir, 'sized.bin');
    await writeFile(path, randomBytes(3000));
    expect((await step(['upload', path])).code).toBe(0);
    expect((await step(['ls', '--prefix', 'sized'])).stdout).toMatch(/^2\.9 KiB\t[0-9a-f]{32}\t\S+\tsized\.bin\n$/);
    expect((await step(['ls', '--prefix', 'sized', '--bytes'])).stdout).toMatch(/^3000\t[0-9a-f]{32}\t\S+\tsized\.bin\n$/);
  });

  it('lists unfinished uploads with --incomplete', async () => {
    const conn = await app.connect();
    const token = await login(conn, 'frank');
    expect((await conn.request(fileRequest(token, 'SAVE', { key: 'half.bin', size: 50_000 }))).json.status).toBe(200);
    const text = await step(['ls', '--incomplete']);
    expect(text.stdout).toMatch(/^48\.8 KiB\t0\/3 blocks\t\S+\thalf\.bin\n$/);
    const json = await step(['--json', 'ls', '--incomplete']);
    expect(JSON.parse(json.stdout)).toMatchObject({ files: [{ key: 'half.bin', size: 50_000, total_block: 3, received_count: 0 }] });
    expect((await step(['--json', 'ls', '--prefix', 'half'])).stdout).toBe('{"files":[]}\n');
  });

  it('shows global options, examples and exit codes in every command help', async () => {
    for (const command of ['upload', 'download', 'ls']) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Global Options:[\s\S]*--server <host:port>[\s\S]*--quiet/);
      expect(help.stdout).toMatch(/Exit codes:[\s\S]*6 {2}integrity failure/);
    }
    expect((await runCli(['upload', '--help'])).stdout).toMatch(/Examples:\n {2}step upload report\.pdf/);
  });

  it('writes bash and zsh completion scripts and completes commands and options', async () => {
    const bash = await runCli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/complete -o bashdefault -o default -F _step_nest_commander_completions step/);
    expect((await runCli(['completion', 'zsh'])).stdout).toMatch(/^#compdef step/);
    const words = await runCli(['completion', 'step', 'upload', '--b']);
    expect(words.stdout.split('\n')).toEqual(expect.arrayContaining(['--block-size', '--force', '--recursive']) as unknown);
  });

  it('draws a progress bar with a real ETA on a terminal, and none with --quiet or --no-progress', async () => {
    const path = join(dir, 'progress.bin');
    await writeFile(path, randomBytes(8 * 1024 * 1024));
    // script(1) gives the CLI a terminal; a small block size makes many progress updates.
    const onTerminal = async (extra: string) => {
      const command = `${process.execPath} ${CLI_ENTRY} --server ${server} --user frank upload ${path} --force --block-size 64KiB ${extra}`;
      const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
        env: { PATH: process.env.PATH, HOME: CLI_HOME, XDG_STATE_HOME: join(CLI_HOME, 'state'), TERM: 'xterm' },
        timeout: 60_000,
      });
      return stdout;
    };
    const bar = await onTerminal('');
    // A real estimate from the first update on: seconds (or -- before any byte moved), never a bare 0.
    expect(bar).toMatch(/upload .* \d+% \| .* \| .*\/s \| ETA (\d+s|--)/);
    expect(bar).not.toMatch(/ETA 0(?!s)/);
    expect(bar).toMatch(/progress\.bin {2}8\.0 MiB {2}md5 [0-9a-f]{32} {2}verified/);
    expect(await onTerminal('--quiet')).not.toMatch(/ETA/);
    const noProgress = await onTerminal('--no-progress');
    expect(noProgress).not.toMatch(/ETA/);
    expect(noProgress).toMatch(/verified/);
  });
});
