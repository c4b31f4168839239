import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame, HEADER_BYTES } from '../src/protocol/index.js';
import { rawExchange, rawFrame } from './helpers/raw-exchange.js';
import { login, request, startTestApp, statusOf, type TestApp } from './helpers/test-app.js';

describe('STEP transport and LOGIN (docs/protocol.md §1, §2, §3, §5)', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp();
    conn = await app.connect();
  });
  afterAll(async () => app.stop());

  describe('request checks in the order of A3', () => {
    it('answers direction EARTH with 333 before checking anything else', async () => {
      const reply = await conn.request({ direction: 'EARTH' });
      expect(reply.json).toMatchObject({
        operation: '3BODY',
        direction: 'RESPONSE',
        status: 333,
        type: 'DANGEROUS',
        status_msg: 'DO NOT ANSWER! DO NOT ANSWER! DO NOT ANSWER!',
      });
    });

    it('answers 400 for missing compulsory fields in the order operation, direction, type', async () => {
      const none = await conn.request({});
      expect(none.json).toMatchObject({
        status: 400,
        operation: 'ERROR',
        type: 'ERROR',
        status_msg: 'Compulsory field operation is missing.',
      });
      const noDirection = await conn.request({ operation: 'LOGIN' });
      expect(noDirection.json.status_msg).toBe('Compulsory field direction is missing.');
      const noType = await conn.request({ operation: 'LOGIN', direction: 'REQUEST' });
      expect(noType.json.status_msg).toBe('Compulsory field type is missing.');
    });

    it('answers 407 for a wrong direction, 408 for an unknown operation, 409 for an unknown type', async () => {
      const direction = await conn.request({ operation: 'LOGIN', direction: 'RESPONSE', type: 'AUTH' });
      expect(direction.json).toMatchObject({ status: 407, status_msg: 'Wrong direction. Should be "REQUEST"' });
      const operation = await conn.request(request({ operation: 'FLY', type: 'AUTH' }));
      expect(operation.json).toMatchObject({ status: 408, status_msg: 'Operation FLY is not allowed', operation: 'FLY' });
      const type = await conn.request(request({ operation: 'LOGIN', type: 'MAGIC' }));
      expect(type.json).toMatchObject({ status: 409, status_msg: 'Type MAGIC is not allowed' });
    });

    it('answers 403 for a missing, malformed or forged token', async () => {
      const missing = await conn.request(request({ operation: 'GET', type: 'FILE', key: 'k' }));
      expect(missing.json).toMatchObject({ status: 403, status_msg: 'No token.' });
      const garbage = await conn.request(request({ operation: 'GET', type: 'FILE', key: 'k', token: 'garbage!!' }));
      expect(garbage.json).toMatchObject({ status: 403, status_msg: 'Token format is wrong.' });
      const numeric = await conn.request(request({ operation: 'GET', type: 'FILE', key: 'k', token: 42 }));
      expect(numeric.json).toMatchObject({ status: 403, status_msg: 'Token format is wrong.' });
      const body = 'alice.20261125000000.login';
      const forged = Buffer.from(`${body}.${md5Hex(body + 'not-the-secret')}`).toString('base64');
      const wrong = await conn.request(request({ operation: 'GET', type: 'FILE', key: 'k', token: forged }));
      expect(wrong.json).toMatchObject({ status: 403, status_msg: 'Token is wrong.' });
    });

    it('refuses a correctly signed token that no LOGIN issued', async () => {
      const body = 'mallory.20261125000000.login';
      const unissued = Buffer.from(`${body}.${md5Hex(body + 'kjh20)*(1')}`).toString('base64');
      const reply = await conn.request(request({ operation: 'GET', type: 'FILE', key: 'k', token: unissued }));
      expect(reply.json).toMatchObject({ status: 403, status_msg: 'Token is wrong.' });
    });

    it('checks the token before telling that a type has no such operation', async () => {
      const noToken = await conn.request(request({ operation: 'SAVE', type: 'AUTH' }));
      expect(statusOf(noToken)).toBe(403);
      const token = await login(conn);
      const withToken = await conn.request(request({ operation: 'SAVE', type: 'AUTH', token }));
      expect(withToken.json).toMatchObject({ status: 408, operation: 'SAVE', type: 'AUTH' });
    });
  });

  describe('LOGIN (A4)', () => {
    it('logs in with the MD5 of the user name, in any case, and returns a legacy token', async () => {
      const reply = await conn.request(
        request({ operation: 'LOGIN', type: 'AUTH', username: 'bob.smith', password: md5Hex('bob.smith').toUpperCase(), token: null }),
      );
      expect(reply.json).toMatchObject({
        status: 200,
        status_msg: 'Login successfully',
        operation: 'LOGIN',
        type: 'AUTH',
        direction: 'RESPONSE',
      });
      const text = Buffer.from(reply.json.token as string, 'base64').toString();
      expect(text).toMatch(/^bob_smith\.\d{14}\.login\.[0-9a-f]{32}$/);
    });

    it('answers 401 for a wrong or empty password, 409 for a type other than AUTH, 410 for missing fields', async () => {
      const wrong = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'bob', password: md5Hex('alice') }));
      expect(statusOf(wrong)).toBe(401);
      const empty = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'bob', password: '' }));
      expect(statusOf(empty)).toBe(401);
      const type = await conn.request(request({ operation: 'LOGIN', type: 'FILE', username: 'bob', password: md5Hex('bob') }));
      expect(type.json).toMatchObject({ status: 409, status_msg: 'Type of LOGIN has to be AUTH.' });
      const noUser = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', password: 'x' }));
      expect(noUser.json).toMatchObject({ status: 410, status_msg: '"username" has to be a field for LOGIN' });
      const noPassword = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'bob' }));
      expect(noPassword.json).toMatchObject({ status: 410, status_msg: '"password" has to be a field for LOGIN' });
    });

    it('answers a user name of the wrong type with a 4xx instead of going silent', async () => {
      const reply = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 12, password: 'x' }));
      expect(statusOf(reply)).toBe(400);
      expect(reply.json.status_msg).toBe('Field "username" has to be a string.');
      const password = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'bob', password: 12345 }));
      expect(password.json).toMatchObject({ status: 400, status_msg: 'Field "password" has to be a string.' });
    });

    it('accepts a token on another connection', async () => {
      const token = await login(conn, 'carol');
      const other = await app.connect();
      const reply = await other.request(request({ operation: 'SAVE', type: 'AUTH', token }));
      expect(statusOf(reply)).toBe(408); // authenticated: the AUTH type simply has no SAVE
    });

    it('refuses an expired token with "Token expired."', async () => {
      const shortLived = await startTestApp({ STEP_TOKEN_TTL_SECONDS: '1' });
      try {
        const c = await shortLived.connect();
        const token = await login(c);
        await new Promise((r) => setTimeout(r, 1100));
        const reply = await c.request(request({ operation: 'SAVE', type: 'AUTH', token }));
        expect(reply.json).toMatchObject({ status: 403, status_msg: 'Token expired.' });
      } finally {
        await shortLived.stop();
      }
    });
  });

  describe('framing (A1, A8, B)', () => {
    it('answers pipelined requests in order', async () => {
      const replies = await Promise.all([
        conn.request({ direction: 'EARTH' }),
        conn.request(request({ operation: 'FLY', type: 'AUTH' })),
        conn.request({}),
        conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'dave', password: md5Hex('dave') })),
      ]);
      expect(replies.map(statusOf)).toEqual([333, 408, 400, 200]);
    });

    it('answers BYE with 200 and then closes the connection', async () => {
      const c = await app.connect();
      const reply = await c.request(request({ operation: 'BYE', type: 'AUTH' }));
      expect(reply.json).toMatchObject({ status: 200, operation: 'BYE' });
      await c.whenClosed();
      expect(c.closed).toBe(true);
    });

    it('answers a JSON section that is not an object with 400 and keeps the connection', async () => {
      const earth = rawFrame('{"direction":"EARTH"}');
      const { replies, closed } = await rawExchange(
        app.stepAddress.port,
        Buffer.concat([earth, rawFrame('[1,2,3]'), rawFrame('{"a":'), earth]),
        4,
      );
      expect(closed).toBe(false);
      expect(replies.map((r) => r.status)).toEqual([333, 400, 400, 333]);
      expect(replies[1].status_msg).toMatch(/JSON object/);
      expect(replies[2].status_msg).toMatch(/not valid JSON/);
    });

    it('refuses an oversized declared length with 413 and closes, and keeps serving others', async () => {
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32BE(10 * 1024 * 1024, 0);
      const { replies, closed } = await rawExchange(app.stepAddress.port, Buffer.concat([rawFrame('{"direction":"EARTH"}'), header]), 3);
      expect(replies.map((r) => r.status)).toEqual([333, 413]);
      expect(closed).toBe(true);
      const fresh = await app.connect();
      expect(statusOf(await fresh.request({ direction: 'EARTH' }))).toBe(333);
    });

    it('keeps serving other clients after one sends random garbage', async () => {
      const garbage = await app.connect();
      garbage.writeRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      const other = await app.connect();
      expect(await login(other, 'erin')).toMatch(/^[A-Za-z0-9+/]+=*$/);
    });

    it('reads frames whose JSON length counts characters, as old clients send', async () => {
      const text = JSON.stringify({ direction: 'REQUEST', operation: 'LOGIN', type: 'AUTH', username: 'zoë', password: md5Hex('zoë') });
      const charCounted = rawFrame(text, Buffer.alloc(0), [...text].length);
      const { replies } = await rawExchange(app.stepAddress.port, Buffer.concat([charCounted, rawFrame('{"direction":"EARTH"}')]), 2);
      expect(replies.map((r) => r.status)).toEqual([200, 333]);
      expect(replies[0].operation).toBe('LOGIN');
    });

    it('writes replies with a JSON length equal to the bytes that follow', async () => {
      const raw = await new Promise<Buffer>((resolve, reject) => {
        import('node:net').then(({ connect }) => {
          const socket = connect(app.stepAddress.port, '127.0.0.1', () => socket.write(encodeFrame({ direction: 'EARTH' })));
          let got = Buffer.alloc(0);
          socket.on('data', (d) => {
            got = Buffer.concat([got, d]);
            if (got.length >= 8 && got.length >= 8 + got.readUInt32BE(0)) {
              socket.destroy();
              resolve(got);
            }
          });
          socket.on('error', reject);
        }, reject);
      });
      const n = raw.readUInt32BE(0);
      expect(raw.readUInt32BE(4)).toBe(0);
      expect(raw.length).toBe(8 + n);
      expect(JSON.parse(raw.subarray(8).toString('ascii')).status).toBe(333);
    });
  });
});
