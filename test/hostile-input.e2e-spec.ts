import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame, HEADER_BYTES } from '../src/protocol/index.js';
import { rawExchange, rawFrame } from './helpers/raw-exchange.js';
import { openRawSocket } from './helpers/raw-socket.js';
import { login, request, startTestApp, statusOf, type TestApp } from './helpers/test-app.js';

/** Wrong types and malformed input at the transport and LOGIN level. */
describe('hostile input gets a 4xx, never silence or a crash', () => {
  let app: TestApp;
  let conn: StepClientConnection;

  beforeAll(async () => {
    app = await startTestApp({ STEP_LOGIN_ATTEMPTS_PER_MINUTE: '1000' });
    conn = await app.connect();
  });
  afterAll(async () => app.stop());

  const earth = encodeFrame({ direction: 'EARTH' });

  it('answers a frame with empty JSON and binary sections at the end of a write with 400 (it used to crash the server)', async () => {
    const { replies, closed } = await rawExchange(app.stepAddress.port, Buffer.alloc(HEADER_BYTES), 1);
    expect(replies).toEqual([
      expect.objectContaining({ status: 400, status_msg: 'The JSON section is not valid JSON.', operation: 'ERROR' }),
    ]);
    expect(closed).toBe(false);
    expect(statusOf(await conn.request({ direction: 'EARTH' }))).toBe(333);
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"LOGIN"'],
    ['a number', '42'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('answers a JSON section that is %s with 400 and keeps the connection', async (_, text) => {
    const { replies, closed } = await rawExchange(app.stepAddress.port, Buffer.concat([rawFrame(text), earth]), 2);
    expect(replies.map((r) => r.status)).toEqual([400, 333]);
    expect(replies[0].status_msg).toBe('The JSON section has to be a JSON object.');
    expect(closed).toBe(false);
  });

  it('answers invalid UTF-8 in the JSON section with 400 and keeps the connection', async () => {
    const invalid = Buffer.concat([Buffer.from('{"direction":"REQUEST","username":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    const { replies, closed } = await rawExchange(app.stepAddress.port, Buffer.concat([rawFrame(invalid), earth]), 2);
    expect(replies.map((r) => r.status)).toEqual([400, 333]);
    expect(replies[0].status_msg).toBe('The JSON section is not valid UTF-8.');
    expect(closed).toBe(false);
  });

  it('answers JSON nested thousands of levels deep with 400 (it overflowed the stack: 500)', async () => {
    const deep = (inner: string) => `{"direction":"REQUEST","operation":"LOGIN","type":"AUTH","password":"y","username":${inner}}`;
    const frames = [deep('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), deep('['.repeat(30_000) + ']'.repeat(30_000))];
    const { replies } = await rawExchange(app.stepAddress.port, Buffer.concat([...frames.map((text) => rawFrame(text)), earth]), 3);
    expect(replies.map((r) => r.status)).toEqual([400, 400, 333]);
    expect(replies[0].status_msg).toMatch(/nested deeper than \d+ levels/);
  });

  it('answers operation and type values whose String() throws with 408 / 409 (no reply at all before)', async () => {
    const operation = await conn.request(request({ operation: { toString: 1 }, type: 'AUTH' }));
    expect(operation.json).toMatchObject({
      status: 408,
      status_msg: 'Operation {"toString":1} is not allowed',
      operation: '{"toString":1}',
    });
    const type = await conn.request(request({ operation: 'LOGIN', type: { valueOf: 1, toString: 1 } }));
    expect(type.json).toMatchObject({ status: 409, type: '{"valueOf":1,"toString":1}' });
    const numeric = await conn.request(request({ operation: 7, type: 'AUTH' }));
    expect(numeric.json).toMatchObject({ status: 408, status_msg: 'Operation 7 is not allowed' });
  });

  it.each([
    ['a number', 12, 400],
    ['a float', 1.5, 400],
    ['an array', ['alice'], 400],
    ['an object', { name: 'alice' }, 400],
    ['a boolean', true, 400],
    ['empty', '', 410],
    ['over 255 characters', 'u'.repeat(256), 400],
  ])('answers a LOGIN whose username is %s with %i', async (_, username, status) => {
    const reply = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username, password: md5Hex(String(username)) }));
    expect(statusOf(reply)).toBe(status);
    expect(reply.json.status_msg).toMatch(/username/);
  });

  it.each([
    ['a number', 5],
    ['an object', {}],
  ])('answers a LOGIN whose password is %s with 400', async (_, password) => {
    const reply = await conn.request(request({ operation: 'LOGIN', type: 'AUTH', username: 'bob', password }));
    expect(statusOf(reply)).toBe(400);
    expect(reply.json.status_msg).toMatch(/"password"/);
  });

  it('answers a binary section on a request that takes none with 400 from the JSON alone, then closes', async () => {
    const token = await login(conn, 'binary-sender');
    // The section is declared but never sent: the answer must not wait for it.
    const header = (json: Buffer, binaryLength: number) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(json.length, 0);
      head.writeUInt32BE(binaryLength, 4);
      return Buffer.concat([head, json]);
    };
    const cases = [
      [
        request({ operation: 'LOGIN', type: 'AUTH', username: 'bob', password: md5Hex('bob') }),
        { status: 400, status_msg: 'This request takes no binary section.', operation: 'LOGIN', type: 'AUTH' },
      ],
      [
        request({ operation: 'SAVE', type: 'DATA', token }),
        { status: 400, status_msg: 'This request takes no binary section.', operation: 'SAVE' },
      ],
      [request({ operation: 'UPLOAD', type: 'FILE', key: 'k', block_index: 0 }), { status: 403, operation: 'UPLOAD' }],
      [request({ operation: 'UPLOAD', type: 'FILE', key: 'k', block_index: 0, token: 'forged' }), { status: 403, operation: 'UPLOAD' }],
      [{ direction: 'EARTH' }, { status: 333 }],
    ] as const;
    for (const [json, expected] of cases) {
      const raw = await openRawSocket(app.stepAddress.port);
      raw.socket.write(header(Buffer.from(JSON.stringify(json)), 1024 * 1024));
      const replies = await raw.waitForReplies(1);
      expect(replies[0]).toMatchObject(expected);
      expect(await raw.waitForClose()).toBe(true);
    }
  });

  it('keeps prototype-shaped keys as plain data', async () => {
    const reply = await conn.request(
      JSON.parse(
        '{"direction":"REQUEST","operation":"LOGIN","type":"AUTH","__proto__":{"username":"x"},"constructor":{"name":1},"username":"carl","password":"' +
          md5Hex('carl') +
          '"}',
      ),
    );
    expect(statusOf(reply)).toBe(200);
    expect(({} as Record<string, unknown>).username).toBeUndefined();
  });
});
