import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { http } from './helpers/http.js';
import { login, startTestApp, type TestApp } from './helpers/test-app.js';
import { blockOf, fileRequest, savePlan, uploadBlocks } from './helpers/step-files.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
const BLOCK = 20480;

/** Admin endpoints that need no body, with valid parameters (sessions and users come from the accounts work). */
const ENDPOINTS: Array<[method: string, path: string]> = [
  ['GET', '/admin/uploads'],
  ['DELETE', '/admin/uploads?username=alice&key=nothing'],
  ['GET', '/admin/files?username=alice'],
  ['DELETE', '/admin/files?username=alice&key=nothing'],
  ['GET', '/admin/sessions'],
  ['DELETE', '/admin/sessions/00000000-0000-4000-8000-000000000000'],
  ['GET', '/admin/users'],
  ['DELETE', '/admin/users/nobody'],
];

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

describe('admin API (/admin)', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;
  const done = randomBytes(BLOCK + 100);
  const partial = randomBytes(3 * BLOCK);

  beforeAll(async () => {
    app = await startTestApp({ STEP_ADMIN_TOKEN: ADMIN_TOKEN });
    conn = await app.connect();
    token = await login(conn, 'alice');
    await savePlan(conn, token, 'reports/done.bin', done.length);
    const stored = await uploadBlocks([conn], token, 'reports/done.bin', done, BLOCK, [0, 1]);
    expect(stored.map((reply) => reply.json.status)).toEqual([200, 200]);
    await savePlan(conn, token, 'dir/partial.bin', partial.length);
    const first = await uploadBlocks([conn], token, 'dir/partial.bin', partial, BLOCK, [0]);
    expect(first[0].json.status).toBe(200);
  });
  afterAll(async () => app.stop());

  describe('bearer token', () => {
    it.each(ENDPOINTS)('%s %s answers 401 without a token, with a wrong one or another scheme', async (method, path) => {
      expect((await http(app.httpAddress, path, { method })).status).toBe(401);
      expect((await http(app.httpAddress, path, { method, token: `${ADMIN_TOKEN}x` })).status).toBe(401);
      expect((await http(app.httpAddress, path, { method, token: '' })).status).toBe(401);
      const basic = await fetch(`http://127.0.0.1:${app.httpAddress.port}${path}`, {
        method,
        headers: { authorization: `Basic ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(10_000),
      });
      expect(basic.status).toBe(401);
    });

    it.each(ENDPOINTS)('%s %s answers with the right token', async (method, path) => {
      const reply = await http(app.httpAddress, path, { method, token: ADMIN_TOKEN });
      expect([200, 404]).toContain(reply.status);
      expect(reply.contentType).toMatch(/^application\/json/);
    });

    it('is absent (404) when STEP_ADMIN_TOKEN is not set', async () => {
      const disabled = await startTestApp();
      try {
        for (const [method, path] of ENDPOINTS) {
          expect((await http(disabled.httpAddress, path, { method, token: ADMIN_TOKEN })).status).toBe(404);
        }
      } finally {
        await disabled.stop();
      }
    });
  });

  describe('GET /admin/uploads', () => {
    it('lists uploads in progress with user, key, size, received blocks, percent and last activity', async () => {
      const reply = await http<{ uploads: Array<Record<string, unknown>> }>(app.httpAddress, '/admin/uploads', { token: ADMIN_TOKEN });
      expect(reply.status).toBe(200);
      const upload = reply.json.uploads.find((u) => u.key === 'dir/partial.bin');
      expect(upload).toMatchObject({
        username: 'alice',
        size: partial.length,
        blockSize: BLOCK,
        totalBlocks: 3,
        receivedBlocks: 1,
        percent: 33.3,
      });
      expect(new Date(String(upload?.lastActivityAt)).getTime()).toBeGreaterThan(0);
      expect(reply.json.uploads.some((u) => u.key === 'reports/done.bin')).toBe(false);
    });
  });

  describe('GET /admin/files', () => {
    it("lists a user's completed files, filtered by prefix and limited", async () => {
      const all = await http<{ files: Array<Record<string, unknown>> }>(app.httpAddress, `/admin/files?${query({ username: 'alice' })}`, {
        token: ADMIN_TOKEN,
      });
      expect(all.status).toBe(200);
      expect(all.json).toMatchObject({ username: 'alice', files: [{ key: 'reports/done.bin', size: done.length, md5: md5Hex(done) }] });
      const none = await http<{ files: unknown[] }>(
        app.httpAddress,
        `/admin/files?${query({ username: 'alice', prefix: 'other/', limit: '5' })}`,
        { token: ADMIN_TOKEN },
      );
      expect(none.json.files).toEqual([]);
    });

    it('answers 404 for a user stepd has never seen, and an empty list for one who only logged in', async () => {
      const reply = await http(app.httpAddress, `/admin/files?${query({ username: 'nobody' })}`, { token: ADMIN_TOKEN });
      expect(reply.status).toBe(404);
      await login(conn, 'grace');
      const known = await http(app.httpAddress, `/admin/files?${query({ username: 'grace' })}`, { token: ADMIN_TOKEN });
      expect(known.status).toBe(200);
      expect(known.json).toEqual({ username: 'grace', files: [] });
    });

    it.each([
      ['no username', {}],
      ['an empty username', { username: '' }],
      ['a limit of 0', { username: 'alice', limit: '0' }],
      ['a limit that is not a number', { username: 'alice', limit: 'ten' }],
      ['a limit over 1000', { username: 'alice', limit: '1001' }],
      ['an unknown parameter', { username: 'alice', usename: 'alice' }],
    ])('answers 400 for %s', async (_, params) => {
      const reply = await http<{ message: unknown }>(app.httpAddress, `/admin/files?${query(params as Record<string, string>)}`, {
        token: ADMIN_TOKEN,
      });
      expect(reply.status).toBe(400);
      expect(reply.json.message).toBeTruthy();
    });
  });

  describe('DELETE /admin/uploads', () => {
    it('answers 400 without a key and 404 for a key with no upload in progress', async () => {
      expect(
        (await http(app.httpAddress, `/admin/uploads?${query({ username: 'alice' })}`, { method: 'DELETE', token: ADMIN_TOKEN })).status,
      ).toBe(400);
      const complete = await http(app.httpAddress, `/admin/uploads?${query({ username: 'alice', key: 'reports/done.bin' })}`, {
        method: 'DELETE',
        token: ADMIN_TOKEN,
      });
      expect(complete.status).toBe(404);
      const otherUser = await http(app.httpAddress, `/admin/uploads?${query({ username: 'bob', key: 'dir/partial.bin' })}`, {
        method: 'DELETE',
        token: ADMIN_TOKEN,
      });
      expect(otherUser.status).toBe(404);
    });

    it('cancels an upload: it leaves the listing and a later UPLOAD for its key gets 408', async () => {
      const path = `/admin/uploads?${query({ username: 'alice', key: 'dir/partial.bin' })}`;
      const reply = await http(app.httpAddress, path, { method: 'DELETE', token: ADMIN_TOKEN });
      expect(reply.status).toBe(204);
      const listing = await http<{ uploads: Array<{ key: string }> }>(app.httpAddress, '/admin/uploads', { token: ADMIN_TOKEN });
      expect(listing.json.uploads.some((u) => u.key === 'dir/partial.bin')).toBe(false);
      const upload = await conn.request(
        fileRequest(token, 'UPLOAD', { key: 'dir/partial.bin', block_index: 1 }),
        blockOf(partial, 1, BLOCK),
      );
      expect(upload.json).toMatchObject({ status: 408, status_msg: 'The "key" dir/partial.bin is not accepted for uploading.' });
      expect((await http(app.httpAddress, path, { method: 'DELETE', token: ADMIN_TOKEN })).status).toBe(404);
    });
  });

  describe('DELETE /admin/files', () => {
    it("deletes a completed file: gone for its owner's GET, 404 the second time and for other users", async () => {
      const params = { username: 'alice', key: 'reports/done.bin' };
      expect(
        (await http(app.httpAddress, `/admin/files?${query({ ...params, username: 'bob' })}`, { method: 'DELETE', token: ADMIN_TOKEN }))
          .status,
      ).toBe(404);
      const reply = await http(app.httpAddress, `/admin/files?${query(params)}`, { method: 'DELETE', token: ADMIN_TOKEN });
      expect(reply.status).toBe(204);
      const get = await conn.request(fileRequest(token, 'GET', { key: 'reports/done.bin' }));
      expect(get.json.status).toBe(404);
      expect((await http(app.httpAddress, `/admin/files?${query(params)}`, { method: 'DELETE', token: ADMIN_TOKEN })).status).toBe(404);
    });
  });
});
