import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Clock } from '../src/common/clock.js';
import { loginWith, tokenCheck } from './helpers/accounts.js';
import { waitForCli, type CliRun } from './helpers/cli-process.js';
import { databaseEnvFor } from './helpers/postgres.js';
import { startTestApp } from './helpers/test-app.js';

/** Path of the built `stepd` binary (tests run after `npm run build`). */
const STEPD = fileURLToPath(new URL('../dist/src/manage/main.js', import.meta.url));

type Run = Pick<CliRun, 'code' | 'stdout' | 'stderr'>;

/** Runs `stepd ARGS` on `dataDir` with stdin a closed pipe (not a terminal); bounded in time. */
async function stepd(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [STEPD, ...args], {
    env: { PATH: process.env.PATH, STEP_DATA_DIR: dataDir, STEP_AUTH_MODE: 'accounts', ...(await databaseEnvFor(dataDir)), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  return waitForCli(child);
}

const PROMPTS = ['Password:', 'Repeat password:'];

/** Runs `stepd ARGS` under `script` so stdin is a terminal, answering each prompt in turn. */
async function stepdOnTerminal(dataDir: string, args: string[], answers: string[]): Promise<Run> {
  const databaseEnv = await databaseEnvFor(dataDir);
  return new Promise((resolve, reject) => {
    const command = [process.execPath, STEPD, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, STEP_DATA_DIR: dataDir, STEP_AUTH_MODE: 'accounts', TERM: 'dumb', ...databaseEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let answered = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Answer a prompt once it is on screen (typing ahead would race the terminal's raw mode).
      if (answered < answers.length && stdout.includes(PROMPTS[answered])) child.stdin.write(`${answers[answered++]}\r`);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: '' });
    });
  });
}

/** Runs independent `stepd` invocations three at a time (each one is CPU-bound while it boots). */
async function inBatches<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += 3) results.push(...(await Promise.all(tasks.slice(i, i + 3).map((task) => task()))));
  return results;
}

// Each run boots Nest and opens the database: seconds on a loaded machine, so these tests get room.
const SLOW = { timeout: 180_000 };

describe('stepd users (management binary)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-manage-'));
    // Migrate once up front, so the parallel runs below never race to create the schema.
    expect((await stepd(dataDir, ['users', 'ls', '--init'])).code).toBe(0);
  }, 60_000);
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('adds a user who can then log in to a server on the same data dir', SLOW, async () => {
    const added = await stepd(dataDir, ['users', 'add', 'alice', '--password', 'alice-password']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toBe('user "alice" added\n');
    const app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_DATA_DIR: dataDir });
    try {
      const conn = await app.connect();
      expect((await loginWith(conn, 'alice', 'alice-password')).json.status).toBe(200);
      expect((await loginWith(conn, 'alice', 'wrong-password')).json.status).toBe(401);
    } finally {
      await app.stop();
    }
  });

  it('lists users, one per line', SLOW, async () => {
    expect((await stepd(dataDir, ['users', 'add', 'bob', '-p', 'bob-password'])).code).toBe(0);
    const ls = await stepd(dataDir, ['users', 'ls']);
    expect(ls.code).toBe(0);
    expect(
      ls.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[0]),
    ).toEqual(['alice', 'bob']);
    expect(ls.stdout).not.toMatch(/scrypt|password/);
  });

  it('fails with exit 1 and one line for a taken name or an unknown user', SLOW, async () => {
    const [taken, passwd, removed] = await inBatches([
      () => stepd(dataDir, ['users', 'add', 'alice', '--password', 'another-password']),
      () => stepd(dataDir, ['users', 'passwd', 'nobody', '--password', 'some-password']),
      () => stepd(dataDir, ['users', 'rm', 'nobody']),
    ]);
    expect(taken).toMatchObject({ code: 1, stdout: '', stderr: 'stepd: user "alice" already exists\n' });
    expect(passwd).toMatchObject({ code: 1, stderr: 'stepd: user "nobody" does not exist\n' });
    expect(removed).toMatchObject({ code: 1, stderr: 'stepd: user "nobody" does not exist\n' });
  });

  it('fails with exit 2 and one line for usage errors', SLOW, async () => {
    const cases: [string[], RegExp][] = [
      [['users', 'add', 'carol'], /^stepd: --password is required when stdin is not a terminal\n$/],
      [['users', 'passwd', 'alice'], /^stepd: --password is required when stdin is not a terminal\n$/],
      [['users', 'add', 'carol', '--password', 'short'], /^stepd: password must be at least 8 characters\n$/],
      [['users', 'add', 'carol smith', '--password', 'carol-password'], /^stepd: name may contain only/],
      [['users', 'add', 'carol', 'dave', '--password', 'carol-password'], /^stepd: expected one user name, got 2\n$/],
      [['users', 'add'], /^error: missing required argument 'name'\n$/],
      [['users', 'add', 'carol', '--bogus'], /^error: unknown option '--bogus'\n$/],
      [['users', 'frobnicate'], /^stepd: unknown command "users frobnicate"\n$/],
    ];
    const runs = await inBatches(
      cases.map(
        ([args]) =>
          () =>
            stepd(dataDir, args),
      ),
    );
    cases.forEach(([args, stderr], i) => {
      expect(runs[i].code, args.join(' ')).toBe(2);
      expect(runs[i].stderr, args.join(' ')).toMatch(stderr);
    });
    expect((await stepd(dataDir, ['users', 'ls'])).stdout).not.toContain('carol');
    const badConfig = await stepd(dataDir, ['users', 'ls'], { STEP_TOKEN_TTL_SECONDS: 'soon' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^stepd: STEP_TOKEN_TTL_SECONDS="soon": /);
  });

  it('prompts for the password twice when stdin is a terminal', SLOW, async () => {
    const run = await stepdOnTerminal(dataDir, ['users', 'add', 'carol'], ['carol-password', 'carol-password']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('user "carol" added');
    expect(run.stdout).not.toContain('carol-password');
    expect((await stepd(dataDir, ['users', 'ls'])).stdout).toContain('carol\t');
  });

  it('changes a password and removes a user, ending their sessions on a running server', SLOW, async () => {
    const app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_DATA_DIR: dataDir });
    try {
      const conn = await app.connect();
      const token = (await loginWith(conn, 'bob', 'bob-password')).json.token as string;
      expect((await tokenCheck(conn, token)).status).toBe(408);
      const passwd = await stepd(dataDir, ['users', 'passwd', 'bob', '--password', 'bob-new-password']);
      expect(passwd).toMatchObject({ code: 0, stdout: 'password of "bob" changed, 1 session(s) revoked\n' });
      // The server re-reads a cached session after a few seconds; move its clock instead of waiting.
      const clock = app.app.get(Clock);
      vi.spyOn(clock, 'now').mockReturnValue(clock.now() + 10_000);
      expect(await tokenCheck(conn, token)).toEqual({ status: 403, message: 'Token is wrong.' });
      vi.restoreAllMocks();
      expect((await loginWith(conn, 'bob', 'bob-password')).json.status).toBe(401);
      expect((await loginWith(conn, 'bob', 'bob-new-password')).json.status).toBe(200);
      const removed = await stepd(dataDir, ['users', 'rm', 'bob']);
      expect(removed).toMatchObject({ code: 0, stdout: 'user "bob" removed, 1 session(s) revoked\n' });
      expect((await loginWith(conn, 'bob', 'bob-new-password')).json.status).toBe(401);
    } finally {
      vi.restoreAllMocks();
      await app.stop();
    }
  });
});
