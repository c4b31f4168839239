import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionsModule } from '../src/auth/sessions.module.js';
import { TokenService } from '../src/auth/token.service.js';
import { ClusterModule } from '../src/cluster/cluster.module.js';
import { Clock } from '../src/common/clock.js';
import { loadConfig } from '../src/config/step.config.js';
import { waitForCli, type CliRun } from './helpers/cli-process.js';
import { createPgScratch, instanceBaseImports, type PgScratch } from './helpers/pg-scratch.js';

const STEPD = fileURLToPath(new URL('../dist/src/manage/main.js', import.meta.url));

// `stepd users` on PostgreSQL: no SQLite file to check, and its revocations reach running instances.
describe('stepd users on PostgreSQL', () => {
  let db: PgScratch;
  let dataDir: string;
  let server: TestingModule;

  function stepd(args: string[]): Promise<Pick<CliRun, 'code' | 'stdout' | 'stderr'>> {
    const child = spawn(process.execPath, [STEPD, ...args], {
      // A data dir that does not exist: on PostgreSQL nothing is looked up there.
      env: { PATH: process.env.PATH, STEP_DATA_DIR: join(dataDir, 'absent'), STEP_AUTH_MODE: 'accounts', STEP_DATABASE_URL: db.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    return waitForCli(child);
  }

  beforeAll(async () => {
    db = await createPgScratch();
    await db.dataSource.destroy();
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-manage-pg-'));
    // A running instance's session services on the same database.
    const config = loadConfig({ STEP_DATA_DIR: dataDir, STEP_DATABASE_URL: db.url, STEP_AUTH_MODE: 'accounts' });
    server = await Test.createTestingModule({
      imports: [...instanceBaseImports(config), ClusterModule, SessionsModule],
    })
      // A frozen clock: the cached session never comes due for its recheck, so only the announcement can end it.
      .overrideProvider(Clock)
      .useValue({ now: () => Date.UTC(2026, 11, 1, 12) })
      .compile();
    await server.init();
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('adds and lists accounts without --init and without a data dir', async () => {
    const added = await stepd(['users', 'add', 'alice', '--password', 'alice-password']);
    expect(added).toMatchObject({ code: 0, stdout: 'user "alice" added\n' });
    const ls = await stepd(['users', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^alice\t/);
  });

  it("ends a user's sessions on a running instance at once when the password is changed", async () => {
    const tokens = server.get(TokenService, { strict: false });
    const { token } = await tokens.issue('alice', null);
    expect(await tokens.authenticate(token)).toMatchObject({ username: 'alice' });
    const changed = await stepd(['users', 'passwd', 'alice', '--password', 'new-alice-password']);
    expect(changed).toMatchObject({ code: 0, stdout: 'password of "alice" changed, 1 session(s) revoked\n' });
    await vi.waitFor(() => expect(tokens.authenticate(token)).rejects.toMatchObject({ status: 403 }), { timeout: 3_000, interval: 10 });
  });
});
