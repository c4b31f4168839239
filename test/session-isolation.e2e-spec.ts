import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { Clock } from '../src/common/clock.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { UserAccountsService } from '../src/admin/user-accounts.service.js';
import { ADMIN_TOKEN, loginWith, tokenCheck } from './helpers/accounts.js';
import { login, request, startTestApp, type TestApp } from './helpers/test-app.js';

const ACCEPTED = 408;

describe('legacy sessions are never shared', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp();
    conn = await app.connect();
  });
  afterAll(async () => app.stop());
  afterEach(() => vi.restoreAllMocks());

  /** Every LOGIN below lands in the same second, where docs/protocol.md §3 tokens of `a.b` and `a_b` are equal. */
  function freezeClock(): void {
    const clock = app.app.get(Clock);
    const now = Math.floor(clock.now() / 1000) * 1000 + 100;
    vi.spyOn(clock, 'now').mockReturnValue(now);
  }

  it('gives `a.b` and `a_b` logging in within one second different sessions', async () => {
    freezeClock();
    const dotted = await login(conn, 'a.b');
    const underscored = await login(conn, 'a_b');
    expect(underscored).not.toBe(dotted);
    const saved = await conn.request(request({ type: 'DATA', operation: 'SAVE', token: dotted, key: 'secret', note: 'of a.b' }));
    expect(saved.json.status).toBe(200);
    const stolen = await conn.request(request({ type: 'DATA', operation: 'GET', token: underscored, key: 'secret' }));
    expect(stolen.json.status).toBe(404);
    const own = await conn.request(request({ type: 'DATA', operation: 'GET', token: dotted, key: 'secret' }));
    expect(own.json).toMatchObject({ status: 200, note: 'of a.b' });
  });

  it('never revives a logged-out session when the same user logs in again within the second', async () => {
    freezeClock();
    const first = await login(conn, 'carol');
    const logout = await conn.request(request({ type: 'AUTH', operation: 'LOGOUT', token: first }));
    expect(logout.json.status).toBe(200);
    const second = await login(conn, 'carol');
    expect(await tokenCheck(conn, second)).toMatchObject({ status: ACCEPTED });
    expect(await tokenCheck(conn, first)).toMatchObject({ status: 403 });
  });

  it('still renews the open session of a user logging in twice within the second', async () => {
    freezeClock();
    const first = await login(conn, 'dave');
    const second = await login(conn, 'dave');
    expect(await tokenCheck(conn, first)).toMatchObject({ status: ACCEPTED });
    expect(await tokenCheck(conn, second)).toMatchObject({ status: ACCEPTED });
  });
});

describe('LOGIN racing a password change or removal', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_ADMIN_TOKEN: ADMIN_TOKEN });
    conn = await app.connect();
  });
  afterAll(async () => app.stop());
  afterEach(() => vi.restoreAllMocks());

  /** Runs `change` while LOGIN is between its password check and issuing the token. */
  async function loginDuring(name: string, password: string, change: () => Promise<unknown>) {
    const hasher = app.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    vi.spyOn(hasher, 'verify').mockImplementationOnce(async (given, encoded) => {
      const matches = await verify(given, encoded);
      await change();
      return matches;
    });
    return loginWith(conn, name, password);
  }

  it('issues no usable token when the password changed during LOGIN', async () => {
    const accounts = app.app.get(UserAccountsService);
    await accounts.add('erin', 'old-password-1');
    const reply = await loginDuring('erin', 'old-password-1', () => accounts.passwd('erin', 'new-password-1'));
    if (reply.json.status === 200) expect(await tokenCheck(conn, reply.json.token as string)).toMatchObject({ status: 403 });
    else expect(reply.json.status).toBe(401);
    const fresh = await loginWith(conn, 'erin', 'new-password-1');
    expect(await tokenCheck(conn, fresh.json.token as string)).toMatchObject({ status: ACCEPTED });
  });

  it('issues no usable token when the account was removed during LOGIN', async () => {
    const accounts = app.app.get(UserAccountsService);
    await accounts.add('frank', 'frank-password');
    const reply = await loginDuring('frank', 'frank-password', () => accounts.remove('frank'));
    if (reply.json.status === 200) expect(await tokenCheck(conn, reply.json.token as string)).toMatchObject({ status: 403 });
    else expect(reply.json.status).toBe(401);
  });
});
