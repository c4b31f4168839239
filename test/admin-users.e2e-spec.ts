import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { ADMIN_TOKEN, admin, loginWith } from './helpers/accounts.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

describe('admin API for users and sessions', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts', STEP_ADMIN_TOKEN: ADMIN_TOKEN });
    conn = await app.connect();
  });
  afterAll(async () => app.stop());

  it('needs the bearer token (401 without or with a wrong one)', async () => {
    for (const [method, path] of [
      ['GET', '/admin/users'],
      ['POST', '/admin/users'],
      ['PUT', '/admin/users/alice/password'],
      ['DELETE', '/admin/users/alice'],
      ['GET', '/admin/sessions'],
      ['DELETE', '/admin/sessions/x'],
    ]) {
      expect((await admin(app, method, path, { token: null })).status, `${method} ${path}`).toBe(401);
      expect((await admin(app, method, path, { token: 'wrong-token-wrong-token' })).status, `${method} ${path}`).toBe(401);
    }
    // Refused before the body is even looked at: nothing was created.
    expect((await admin(app, 'POST', '/admin/users', { token: null, body: { name: 'eve', password: 'eve-password' } })).status).toBe(401);
    expect((await loginWith(conn, 'eve', 'eve-password')).json.status).toBe(401);
  });

  it('creates a user (201) who can then log in, and answers 409 for a taken name', async () => {
    const created = await admin(app, 'POST', '/admin/users', { body: { name: 'alice', password: 'alice-password' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'alice', created_at: expect.any(String), updated_at: expect.any(String) });
    expect(JSON.stringify(created.body)).not.toContain('alice-password');
    expect((await loginWith(conn, 'alice', 'alice-password')).json.status).toBe(200);
    const again = await admin(app, 'POST', '/admin/users', { body: { name: 'alice', password: 'other-password' } });
    expect(again.status).toBe(409);
    expect((await loginWith(conn, 'alice', 'other-password')).json.status).toBe(401);
  });

  it('answers 400 for a bad name, a short password, missing or unknown fields', async () => {
    for (const body of [
      {},
      { name: 'bob' },
      { password: 'bob-password' },
      { name: 'bob', password: 'short' },
      { name: 'bob smith', password: 'bob-password' },
      { name: '', password: 'bob-password' },
      { name: 'b'.repeat(256), password: 'bob-password' },
      { name: 'bob', password: 'p'.repeat(1025) },
      { name: 42, password: 'bob-password' },
      { name: 'bob', password: 'bob-password', admin: true },
    ]) {
      const reply = await admin(app, 'POST', '/admin/users', { body });
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, message: expect.any(Array) });
    }
    expect((await admin(app, 'GET', '/admin/users')).body).not.toContainEqual(expect.objectContaining({ name: 'bob' }));
  });

  it('lists users without their hashes', async () => {
    await admin(app, 'POST', '/admin/users', { body: { name: 'zoe', password: 'zoe-password' } });
    const list = await admin(app, 'GET', '/admin/users');
    expect(list.status).toBe(200);
    expect((list.body as { name: string }[]).map((u) => u.name)).toEqual(['alice', 'zoe']);
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|password/);
  });

  it('changes a password (204), 404 for an unknown user, 400 for a bad password', async () => {
    expect((await admin(app, 'PUT', '/admin/users/zoe/password', { body: { password: 'zoe-new-password' } })).status).toBe(204);
    expect((await loginWith(conn, 'zoe', 'zoe-password')).json.status).toBe(401);
    expect((await loginWith(conn, 'zoe', 'zoe-new-password')).json.status).toBe(200);
    expect((await admin(app, 'PUT', '/admin/users/nobody/password', { body: { password: 'some-password' } })).status).toBe(404);
    expect((await admin(app, 'PUT', '/admin/users/zoe/password', { body: { password: 'short' } })).status).toBe(400);
    expect((await admin(app, 'PUT', '/admin/users/zoe/password', { body: {} })).status).toBe(400);
  });

  it('removes a user (204, then 404) who can no longer log in', async () => {
    expect((await admin(app, 'DELETE', '/admin/users/zoe')).status).toBe(204);
    expect((await admin(app, 'DELETE', '/admin/users/zoe')).status).toBe(404);
    expect((await loginWith(conn, 'zoe', 'zoe-new-password')).json.status).toBe(401);
  });
});

describe('admin API without STEP_ADMIN_TOKEN', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ STEP_AUTH_MODE: 'accounts' });
  });
  afterAll(async () => app.stop());

  it('does not exist (404), whatever token is sent', async () => {
    for (const path of ['/admin/users', '/admin/sessions']) {
      expect((await admin(app, 'GET', path)).status).toBe(404);
      expect((await admin(app, 'GET', path, { token: null })).status).toBe(404);
    }
    expect((await admin(app, 'POST', '/admin/users', { body: { name: 'eve', password: 'eve-password' } })).status).toBe(404);
  });
});
