import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { Clock } from '../src/common/clock.js';
import { md5Hex, sha256Hex } from '../src/common/md5.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { UsersService } from '../src/users/users.service.js';
import type { StepJson } from '../src/protocol/index.js';
import { ADMIN_TOKEN, admin, loginWith, tokenCheck } from './helpers/accounts.js';
import { downloadAll, fileRequest, md5Of, savePlan, uploadBlocks } from './helpers/step-files.js';
import { login, request, startTestApp, type TestApp } from './helpers/test-app.js';

const ACCEPTED = 408;

describe('accounts auth mode (docs/protocol.md §3)', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_ADMIN_TOKEN: ADMIN_TOKEN });
    conn = await app.connect();
    const users = app.app.get(UsersService);
    await users.add('alice', 'alice-password');
    await users.add('bob', 'bob-password');
  });
  afterAll(async () => app.stop());
  afterEach(() => vi.restoreAllMocks());

  it('logs in with the right password and returns a 256-bit random token', async () => {
    const reply = await loginWith(conn, 'alice', 'alice-password');
    expect(reply.json).toMatchObject({ status: 200, status_msg: 'Login successfully' });
    const token = reply.json.token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(await tokenCheck(conn, token)).toMatchObject({ status: ACCEPTED });
  });

  it('gives a wrong password and an unknown user the same 401, after the same password work', async () => {
    const verify = vi.spyOn(app.app.get(PasswordHasher), 'verify');
    const wrong = await loginWith(conn, 'alice', 'not-her-password');
    const unknown = await loginWith(conn, 'nobody', 'alice-password');
    const legacyStyle = await loginWith(conn, 'alice', md5Hex('alice'));
    for (const reply of [wrong, unknown, legacyStyle]) {
      expect(reply.json).toMatchObject({ status: 401, status_msg: 'Password error for login.', operation: 'LOGIN', type: 'AUTH' });
      expect(reply.json.token).toBeUndefined();
    }
    expect(Object.keys(unknown.json).sort()).toEqual(Object.keys(wrong.json).sort());
    // Same time: the unknown user is hashed too (against a dummy hash with the current parameters).
    expect(verify).toHaveBeenCalledTimes(3);
    const [, unknownHash] = verify.mock.calls[1];
    const [, aliceHash] = verify.mock.calls[0];
    expect(unknownHash.split('$').slice(0, 3)).toEqual(aliceHash.split('$').slice(0, 3));
  });

  it('stores only the SHA-256 of a token', async () => {
    const token = (await loginWith(conn, 'bob', 'bob-password')).json.token as string;
    const rows: Record<string, unknown>[] = await app.app.get(DataSource).query('SELECT * FROM sessions');
    const row = rows.find((r) => r.token_hash === sha256Hex(token));
    expect(row).toMatchObject({ username: 'bob', kind: 'random', revoked_at: null });
    for (const r of rows) expect(Object.values(r)).not.toContain(token);
  });

  it('refuses a legacy-format token, forged or correctly signed', async () => {
    const body = 'alice.20261125000000.login';
    const signed = Buffer.from(`${body}.${md5Hex(body + 'kjh20)*(1')}`).toString('base64');
    expect(await tokenCheck(conn, signed)).toEqual({ status: 403, message: 'Token format is wrong.' });
    const lookalike = Buffer.alloc(32, 7).toString('base64url');
    expect(await tokenCheck(conn, lookalike)).toEqual({ status: 403, message: 'Token is wrong.' });
  });

  it("LOGOUT revokes the caller's session and nothing else", async () => {
    const first = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
    const second = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
    expect(await tokenCheck(conn, first)).toMatchObject({ status: ACCEPTED });
    const bye = await conn.request(request({ type: 'AUTH', operation: 'LOGOUT', token: first }));
    expect(bye.json).toMatchObject({ status: 200, operation: 'LOGOUT', type: 'AUTH' });
    expect(await tokenCheck(conn, first)).toEqual({ status: 403, message: 'Token is wrong.' });
    const again = await conn.request(request({ type: 'AUTH', operation: 'LOGOUT', token: first }));
    expect(again.json.status).toBe(403);
    // The cache was evicted on this process and the row says revoked: also refused on a new connection.
    const other = await app.connect();
    expect(await tokenCheck(other, first)).toMatchObject({ status: 403 });
    expect(await tokenCheck(other, second)).toMatchObject({ status: ACCEPTED });
  });

  it('LOGOUT needs a valid token', async () => {
    const reply = await conn.request(request({ type: 'AUTH', operation: 'LOGOUT' }));
    expect(reply.json).toMatchObject({ status: 403, status_msg: 'No token.' });
  });

  it('revokes a session through the admin API', async () => {
    const token = (await loginWith(conn, 'bob', 'bob-password')).json.token as string;
    expect(await tokenCheck(conn, token)).toMatchObject({ status: ACCEPTED });
    const list = await admin(app, 'GET', '/admin/sessions');
    expect(list.status).toBe(200);
    const sessions = list.body as {
      id: string;
      username: string;
      kind: string;
      revoked: boolean;
      created_at: string;
      expires_at: string;
    }[];
    const row = sessions.find((s) => s.username === 'bob' && !s.revoked)!;
    expect(row).toMatchObject({ kind: 'random' });
    expect(Date.parse(row.expires_at) - Date.parse(row.created_at)).toBe(86_400_000);
    expect(JSON.stringify(list.body)).not.toContain(token);
    const newest = sessions.filter((s) => s.username === 'bob' && !s.revoked);
    for (const s of newest) expect((await admin(app, 'DELETE', `/admin/sessions/${s.id}`)).status).toBe(204);
    expect(await tokenCheck(conn, token)).toEqual({ status: 403, message: 'Token is wrong.' });
    expect((await admin(app, 'GET', '/admin/sessions')).body).toContainEqual(expect.objectContaining({ id: row.id, revoked: true }));
    expect((await admin(app, 'DELETE', '/admin/sessions/no-such-session')).status).toBe(404);
  });

  it('ends every session of a user whose password is changed or who is removed', async () => {
    const users = app.app.get(UsersService);
    await users.add('carol', 'carol-password');
    const before = (await loginWith(conn, 'carol', 'carol-password')).json.token as string;
    expect((await admin(app, 'PUT', '/admin/users/carol/password', { body: { password: 'carol-new-password' } })).status).toBe(204);
    expect(await tokenCheck(conn, before)).toMatchObject({ status: 403 });
    expect((await loginWith(conn, 'carol', 'carol-password')).json.status).toBe(401);
    const after = (await loginWith(conn, 'carol', 'carol-new-password')).json.token as string;
    expect(await tokenCheck(conn, after)).toMatchObject({ status: ACCEPTED });
    expect((await admin(app, 'DELETE', '/admin/users/carol')).status).toBe(204);
    expect(await tokenCheck(conn, after)).toMatchObject({ status: 403 });
    expect((await loginWith(conn, 'carol', 'carol-new-password')).json.status).toBe(401);
  });

  it("keeps users apart: a token of alice cannot read, overwrite or delete bob's DATA or FILE keys", async () => {
    const alice = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
    const bob = (await loginWith(conn, 'bob', 'bob-password')).json.token as string;
    const data = (token: string, operation: string, fields: StepJson = {}) =>
      conn.request(request({ type: 'DATA', operation, token, ...fields }));

    expect((await data(bob, 'SAVE', { key: 'profile', owner: 'bob' })).json.status).toBe(200);
    expect((await data(alice, 'GET', { key: 'profile' })).json).toMatchObject({ status: 404 });
    expect((await data(alice, 'DELETE', { key: 'profile' })).json).toMatchObject({ status: 404 });
    // The same key name is alice's own record, not bob's.
    expect((await data(alice, 'SAVE', { key: 'profile', owner: 'alice' })).json.status).toBe(200);
    expect((await data(alice, 'LIST')).json.keys).toEqual(['profile']);
    expect((await data(bob, 'GET', { key: 'profile' })).json).toMatchObject({ status: 200, owner: 'bob' });
    expect((await data(alice, 'DELETE', { key: 'profile' })).json.status).toBe(200);
    expect((await data(bob, 'GET', { key: 'profile' })).json).toMatchObject({ status: 200, owner: 'bob' });

    const content = Buffer.from("bob's private file");
    await savePlan(conn, bob, 'secret.txt', content.length);
    const [done] = await uploadBlocks([conn], bob, 'secret.txt', content, 20480, [0]);
    expect(done.json).toMatchObject({ status: 200, md5: md5Of(content) });
    for (const operation of ['GET', 'STATUS', 'DELETE']) {
      expect((await conn.request(fileRequest(alice, operation, { key: 'secret.txt' }))).json.status, operation).toBe(404);
    }
    const download = await conn.request(fileRequest(alice, 'DOWNLOAD', { key: 'secret.txt', block_index: 0 }));
    expect(download.json.status).toBe(404);
    expect(download.binary ?? Buffer.alloc(0)).toHaveLength(0);
    expect((await conn.request(fileRequest(alice, 'LIST'))).json.files).toEqual([]);
    // Alice's own upload plan under that key does not touch bob's file.
    await savePlan(conn, alice, 'secret.txt', 3);
    expect((await downloadAll(conn, bob, 'secret.txt')).data).toEqual(content);
  });
});

describe('accounts mode token expiry', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_TOKEN_TTL_SECONDS: '1' });
    await app.app.get(UsersService).add('alice', 'alice-password');
  });
  afterAll(async () => app.stop());

  it('refuses a token once its TTL has passed, also when it was cached', async () => {
    const conn = await app.connect();
    const token = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
    expect(await tokenCheck(conn, token)).toMatchObject({ status: ACCEPTED });
    const clock = app.app.get(Clock);
    const now = clock.now();
    vi.spyOn(clock, 'now').mockReturnValue(now + 1_001);
    expect(await tokenCheck(conn, token)).toEqual({ status: 403, message: 'Token expired.' });
    vi.restoreAllMocks();
    // A fresh LOGIN works again.
    const fresh = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
    expect(await tokenCheck(conn, fresh)).toMatchObject({ status: ACCEPTED });
  });

  it('deletes the rows of sessions that ended more than a day ago, at a later LOGIN', async () => {
    const conn = await app.connect();
    await loginWith(conn, 'alice', 'alice-password');
    const count = async () => ((await app.app.get(DataSource).query('SELECT COUNT(*) AS n FROM sessions')) as { n: number }[])[0].n;
    expect(await count()).toBeGreaterThanOrEqual(1);
    const clock = app.app.get(Clock);
    vi.spyOn(clock, 'now').mockReturnValue(clock.now() + 25 * 3600 * 1000);
    await loginWith(conn, 'alice', 'alice-password');
    vi.restoreAllMocks();
    expect(await count()).toBe(1);
  });
});

describe('switching auth modes on one data dir', () => {
  it('refuses in accounts mode a legacy token issued before the switch, and vice versa', async () => {
    const legacy = await startTestApp();
    const dataDir = legacy.dataDir;
    const legacyToken = await login(await legacy.connect(), 'alice');
    await legacy.close();
    const accounts = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_DATA_DIR: dataDir });
    try {
      const conn = await accounts.connect();
      expect(await tokenCheck(conn, legacyToken)).toEqual({ status: 403, message: 'Token format is wrong.' });
      await accounts.app.get(UsersService).add('alice', 'alice-password');
      const randomToken = (await loginWith(conn, 'alice', 'alice-password')).json.token as string;
      await accounts.close();
      const back = await startTestApp({ STEP_DATA_DIR: dataDir });
      try {
        expect(await tokenCheck(await back.connect(), randomToken)).toMatchObject({ status: 403 });
        expect(await tokenCheck(await back.connect(), legacyToken)).toMatchObject({ status: ACCEPTED });
      } finally {
        await back.stop();
      }
    } finally {
      await accounts.stop();
      await legacy.stop();
    }
  });
});
