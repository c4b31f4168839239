import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersService } from '../src/users/users.service.js';
import { CLI_ENTRY, CLI_HOME, runCli, runCliPiped } from './helpers/cli-process.js';
import { request, startTestApp, type TestApp } from './helpers/test-app.js';

// The built `step` against an accounts-mode stepd: passwords off the command line, stored
// sessions (login/logout) and profiles.
describe('step credentials and profiles', { timeout: 120_000 }, () => {
  let app: TestApp;
  let server: string;
  const tokensFile = join(CLI_HOME, 'state', 'step', 'tokens.json');
  const withPassword = (args: string[], password = 'dave-password\n') =>
    runCliPiped(['--server', server, '--user', 'dave', '--password-stdin', ...args], {}, Buffer.from(password));
  const asDave = (args: string[], env: Record<string, string> = {}) => runCli(['--server', server, '--user', 'dave', ...args], env);
  /** Answers 200 or 403 for a token, without the CLI. */
  const tokenWorks = async (token: string) => {
    const conn = await app.connect();
    return (await conn.request(request({ type: 'FILE', operation: 'LIST', token }))).json.status === 200;
  };

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts' });
    server = `127.0.0.1:${app.stepAddress.port}`;
    await app.app.get(UsersService).add('dave', 'dave-password');
  });
  afterAll(async () => {
    await app.stop();
    await rm(CLI_HOME, { recursive: true, force: true });
  });

  it('reads the password from stdin; without one (and no terminal) accounts mode refuses with exit 4', async () => {
    const ok = await withPassword(['--json', 'ls']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.toString())).toEqual({ files: [] });
    const refused = await asDave(['ls']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/401/);
    expect((await withPassword(['ls'], '\n')).code).toBe(2);
  });

  it('login stores a token only the user can read; later commands use it; logout revokes and deletes it', async () => {
    const login = await withPassword(['--json', 'login']);
    expect(login.code, login.stderr).toBe(0);
    const { token, stored_in: storedIn } = JSON.parse(login.stdout.toString()) as { token: string; stored_in: string };
    expect(storedIn).toBe(tokensFile);
    expect((await stat(tokensFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(CLI_HOME, 'state', 'step'))).mode & 0o777).toBe(0o700);
    expect(await readFile(tokensFile, 'utf8')).toContain(token);
    // No password anywhere: the stored session does it.
    const ls = await asDave(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    const logout = await asDave(['--json', 'logout']);
    expect(logout.code, logout.stderr).toBe(0);
    expect(JSON.parse(logout.stdout)).toEqual({ user: 'dave', revoked: true, token_deleted: true });
    expect(await tokenWorks(token)).toBe(false);
    expect(await readFile(tokensFile, 'utf8')).not.toContain(token);
    expect((await asDave(['ls'])).code).toBe(4);
  });

  it('falls back to the password once the stored token is refused', async () => {
    const login = await withPassword(['--json', 'login']);
    const { token } = JSON.parse(login.stdout.toString()) as { token: string };
    const conn = await app.connect();
    expect((await conn.request(request({ type: 'AUTH', operation: 'LOGOUT', token }))).json.status).toBe(200);
    expect((await asDave(['ls'])).code).toBe(4);
    expect((await withPassword(['ls'])).code).toBe(0);
    expect((await asDave(['logout'])).code).toBe(0);
  });

  it('prompts for the password without echo on a terminal', async () => {
    // script(1) gives the CLI a pseudo-terminal; the password is typed once the prompt shows
    // (typed earlier, the terminal would still echo it).
    const command = `${process.execPath} ${CLI_ENTRY} --server ${server} --user dave --json ls`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: CLI_HOME, XDG_STATE_HOME: join(CLI_HOME, 'state'), TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let typed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!typed && stdout.includes('Password:')) {
        typed = true;
        child.stdin.write('dave-password\r');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    child.stdin.end();
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/Password:/);
    expect(stdout).not.toContain('dave-password');
    expect(stdout).toContain('{"files":[]}');
  });

  it('takes server, user and block size from a profile; the environment and flags win over it', async () => {
    const configDir = join(CLI_HOME, 'config', 'step');
    await mkdir(configDir, { recursive: true });
    const profiles = { work: { server, user: 'nobody', block_size: '64KiB', connections: 2 }, broken: { connections: 0 } };
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ profiles }));
    const path = join(CLI_HOME, 'p.bin');
    await writeFile(path, randomBytes(200_000));
    const input = Buffer.from('dave-password\n');
    // STEP_USER beats the profile's user.
    const up = await runCliPiped(['--profile', 'work', '--password-stdin', 'upload', path], { STEP_USER: 'dave' }, input);
    expect(up.code, up.stderr).toBe(0);
    const status = await runCliPiped(['--password-stdin', '--json', 'status', 'p.bin'], { STEP_PROFILE: 'work', STEP_USER: 'dave' }, input);
    expect(JSON.parse(status.stdout.toString())).toMatchObject({ block_size: 65_536, complete: true });
    // --block-size beats the profile's block_size.
    const again = await runCliPiped(
      ['--profile', 'work', '--user', 'dave', '--password-stdin', 'upload', path, '--key', 'q.bin', '--block-size', '128KiB'],
      {},
      input,
    );
    expect(again.code, again.stderr).toBe(0);
    const q = await runCliPiped(['--profile', 'work', '--user', 'dave', '--password-stdin', '--json', 'status', 'q.bin'], {}, input);
    expect(JSON.parse(q.stdout.toString())).toMatchObject({ block_size: 131_072 });
    const unknown = await runCli(['--profile', 'nope', 'ls']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/profile "nope" is not in/);
    expect((await runCli(['--profile', 'broken', 'ls'])).stderr).toMatch(/"connections" has to be an integer/);
  });
});
