import { Test, type TestingModule } from '@nestjs/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgScratch, instanceBaseImports, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { CACHE_RECHECK_MS, TokenService } from '../auth/token.service.js';
import { ClusterModule } from '../cluster/cluster.module.js';
import { Clock } from '../common/clock.js';
import { loadConfig } from '../config/step.config.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { UserExistsError } from '../users/users.errors.js';
import { UsersService } from '../users/users.service.js';
import { UserAccountsService } from './user-accounts.service.js';
import { UsersAdminModule } from './users-admin.module.js';

/** One stepd instance's account and session services, on the shared database. */
interface Instance {
  module: TestingModule;
  accounts: UserAccountsService;
  users: UsersService;
  tokens: TokenService;
}

const PASSWORD = 'correct horse battery';

// Two instances on one PostgreSQL database, as two processes behind a balancer would be.
describe('accounts and sessions across two instances on PostgreSQL', () => {
  let db: PgScratch;
  let dataDir: string;
  const open: Instance[] = [];

  beforeAll(async () => {
    db = await createPgScratch();
    await db.dataSource.destroy();
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-accounts-cluster-'));
  });
  afterEach(async () => {
    for (const instance of open.splice(0)) await instance.module.close();
  });
  afterAll(async () => {
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function instance(id: string, env: Record<string, string> = {}, clock?: Clock): Promise<Instance> {
    const config = loadConfig({
      STEP_DATA_DIR: dataDir,
      STEP_DATABASE_URL: db.url,
      STEP_AUTH_MODE: 'accounts',
      STEP_INSTANCE_ID: id,
      ...env,
    });
    let builder = Test.createTestingModule({
      imports: [...instanceBaseImports(config), ClusterModule, UsersAdminModule],
    })
      // Cheap scrypt parameters: the hashing itself is PasswordHasher's spec.
      .overrideProvider(PasswordHasher)
      .useValue(new PasswordHasher({ ln: 10, r: 8, p: 1 }));
    if (clock) builder = builder.overrideProvider(Clock).useValue(clock);
    const module = await builder.compile();
    await module.init();
    const created = {
      module,
      accounts: module.get(UserAccountsService, { strict: false }),
      users: module.get(UsersService, { strict: false }),
      tokens: module.get(TokenService, { strict: false }),
    };
    open.push(created);
    return created;
  }

  /** Milliseconds until `token` is refused on `instance` (polled every 10 ms). */
  async function refusedWithin(instance: Instance, token: string, timeout = 3_000): Promise<number> {
    const started = Date.now();
    await vi.waitFor(() => expect(instance.tokens.authenticate(token)).rejects.toMatchObject({ status: 403 }), {
      timeout,
      interval: 10,
    });
    return Date.now() - started;
  }

  it('checks on one instance the password of an account made on the other', async () => {
    const a = await instance('a');
    const b = await instance('b');
    await a.accounts.add('carol', PASSWORD);
    expect(await b.users.verifyCredentials('carol', PASSWORD)).toMatch(/^\$scrypt\$/);
    expect(await b.users.verifyCredentials('carol', 'wrong password')).toBeNull();
  });

  it('answers "exists" to one of two instances adding the same name at once', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const outcomes = await Promise.allSettled([a.accounts.add('dave', PASSWORD), b.accounts.add('dave', PASSWORD)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(UserExistsError);
  });

  it('opens a session for each of two legacy LOGINs of one user in the same second on two instances', async () => {
    const second = { now: () => Date.UTC(2026, 11, 1, 12, 0, 0) } as Clock;
    const a = await instance('a', { STEP_AUTH_MODE: 'legacy' }, second);
    const b = await instance('b', { STEP_AUTH_MODE: 'legacy' }, second);
    for (let round = 0; round < 5; round++) {
      const issued = await Promise.all([a.tokens.issue(`eve${round}`, null), b.tokens.issue(`eve${round}`, null)]);
      for (const { token } of issued) expect(await a.tokens.authenticate(token)).toMatchObject({ username: `eve${round}` });
    }
  });

  it('refuses on the other instance, within a fraction of a second, a session revoked by LOGOUT or by an administrator', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const { token, sessionId } = await a.tokens.issue('frank', null);
    // b has it cached now: only the revocation message (or the recheck) can make it refuse.
    expect(await b.tokens.authenticate(token)).toMatchObject({ username: 'frank' });
    await a.tokens.revoke(sessionId);
    expect(await refusedWithin(b, token)).toBeLessThan(500);
  });

  it('refuses every session of a user on the other instance once the password changed or the account was removed', async () => {
    const a = await instance('a');
    const b = await instance('b');
    await a.accounts.add('grace', PASSWORD);
    await a.accounts.add('heidi', PASSWORD);
    const grace = await b.tokens.issue('grace', null);
    const heidi = await b.tokens.issue('heidi', null);
    expect(await b.tokens.authenticate(grace.token)).toMatchObject({ username: 'grace' });
    expect(await b.tokens.authenticate(heidi.token)).toMatchObject({ username: 'heidi' });
    expect(await a.accounts.passwd('grace', 'another password')).toBe(1);
    expect(await refusedWithin(b, grace.token)).toBeLessThan(500);
    expect(await a.accounts.remove('heidi')).toBe(1);
    expect(await refusedWithin(b, heidi.token)).toBeLessThan(500);
  });

  it('refuses within the recheck interval a revocation that was never announced (the recheck is the safety net)', async () => {
    const a = await instance('a');
    const { token, sessionId } = await a.tokens.issue('ivan', null);
    expect(await a.tokens.authenticate(token)).toMatchObject({ username: 'ivan' });
    // As if the message were lost: the row changes behind the instance's back.
    await a.module.get(DataSource).query(`UPDATE "sessions" SET "revoked_at" = 1 WHERE "id" = $1`, [sessionId]);
    expect(await a.tokens.authenticate(token)).toMatchObject({ username: 'ivan' });
    const waited = await refusedWithin(a, token, CACHE_RECHECK_MS + 2_000);
    expect(waited).toBeLessThan(CACHE_RECHECK_MS + 300);
  });
});
