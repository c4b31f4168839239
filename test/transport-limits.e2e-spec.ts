import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame, HEADER_BYTES } from '../src/protocol/index.js';
import { rawExchange, rawFrame } from './helpers/raw-exchange.js';
import { openRawSocket, type RawSocket } from './helpers/raw-socket.js';
import { login, request, startTestApp, statusOf, type TestApp } from './helpers/test-app.js';

const EARTH = encodeFrame({ direction: 'EARTH' });

function header(jsonLength: number, binaryLength: number): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeUInt32BE(jsonLength, 0);
  bytes.writeUInt32BE(binaryLength, 4);
  return bytes;
}

/** An EARTH request padded to exactly `bytes` of JSON. */
function earthOfLength(bytes: number): Buffer {
  const base = JSON.stringify({ direction: 'EARTH', pad: '' });
  return rawFrame(JSON.stringify({ direction: 'EARTH', pad: 'x'.repeat(bytes - base.length) }));
}

describe('transport limits', () => {
  let app: TestApp;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    app = await startTestApp({
      STEP_MAX_JSON_BYTES: '1024',
      STEP_MIN_BLOCK_SIZE: '512',
      STEP_MAX_BLOCK_SIZE: '4096',
      STEP_FRAME_DEADLINE_MS: '300',
      STEP_FRAME_MAX_MS: '1500',
      STEP_IDLE_TIMEOUT_MS: '400',
      STEP_MAX_CONNECTIONS: '40',
      STEP_MAX_CONNECTIONS_PER_ADDRESS: '4',
      STEP_LOGIN_ATTEMPTS_PER_MINUTE: '5',
    });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.socket.destroy();
  });
  afterAll(async () => app.stop());

  async function open(localAddress?: string): Promise<RawSocket> {
    const s = await openRawSocket(app.stepAddress.port, localAddress);
    sockets.push(s);
    return s;
  }

  it('accepts a JSON section of exactly STEP_MAX_JSON_BYTES and refuses one byte more with 413, then closes', async () => {
    const atLimit = await rawExchange(app.stepAddress.port, earthOfLength(1024), 1);
    expect(atLimit.replies.map((r) => r.status)).toEqual([333]);
    const over = await rawExchange(app.stepAddress.port, Buffer.concat([EARTH, header(1025, 0)]), 3);
    expect(over.replies.map((r) => r.status)).toEqual([333, 413]);
    expect(over.replies[1].status_msg).toBe('The json section of 1025 bytes exceeds the limit of 1024 bytes.');
    expect(over.closed).toBe(true);
  });

  it('accepts a binary section of the max block size and refuses one byte more with 413 from the header alone', async () => {
    const json = JSON.stringify({ direction: 'EARTH' });
    const atLimit = await rawExchange(app.stepAddress.port, rawFrame(json, Buffer.alloc(4096)), 1);
    expect(atLimit.replies.map((r) => r.status)).toEqual([333]);
    // Only the header is sent: the refusal cannot depend on the declared bytes arriving.
    const over = await rawExchange(app.stepAddress.port, header(json.length, 4097), 2);
    expect(over.replies.map((r) => r.status)).toEqual([413]);
    expect(over.replies[0].status_msg).toMatch(/binary section of 4097 bytes/);
    expect(over.closed).toBe(true);
  });

  it('refuses the uint32 maximum in either length field with 413', async () => {
    for (const bytes of [header(0xffffffff, 0), header(2, 0xffffffff)]) {
      const { replies, closed } = await rawExchange(app.stepAddress.port, bytes, 2);
      expect(replies.map((r) => r.status)).toEqual([413]);
      expect(closed).toBe(true);
    }
  });

  it('closes a refused connection whose client keeps sending and never closes its side', async () => {
    // After the 413 the server stops reading: it drops a little more to see a close, then stops
    // for good and the idle timeout ends the connection, however much the client still pushes.
    const socket = connect({ port: app.stepAddress.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const replies: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => replies.push(chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(header(2, 4097));
    const junk = Buffer.alloc(64 * 1024, 0x61);
    const flood = setInterval(() => socket.write(junk), 10);
    try {
      expect(await closed).toBe(true);
    } finally {
      clearInterval(flood);
      socket.destroy();
    }
    expect(Buffer.concat(replies).subarray(HEADER_BYTES).toString()).toMatch(/"status":413/);
  });

  it('closes a connection whose started frame gets no byte for STEP_FRAME_DEADLINE_MS', async () => {
    const s = await open();
    s.socket.write(Buffer.concat([header(40, 0), Buffer.from('{"direction"')]));
    expect(await s.waitForClose()).toBe(true);
    expect(s.replies).toEqual([]);
  });

  it('keeps a frame whose bytes keep arriving, however slowly, past STEP_FRAME_DEADLINE_MS', async () => {
    const s = await open();
    const frame = earthOfLength(60);
    // 20 pieces 50 ms apart: about 1 s for the frame, over three times the 300 ms no-progress deadline.
    const piece = Math.ceil(frame.length / 20);
    for (let sent = 0; sent < frame.length; sent += piece) {
      s.socket.write(frame.subarray(sent, sent + piece));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await s.waitForReplies(1)).map((r) => r.status)).toEqual([333]);
    expect(s.closed).toBe(false);
  });

  it('closes a slowloris client that keeps trickling bytes of one frame past STEP_FRAME_MAX_MS', async () => {
    const s = await open();
    const frame = earthOfLength(200);
    let sent = 0;
    // One byte every 20 ms would need 4 s for the frame: far beyond the 1.5 s cap on a whole frame.
    const drip = setInterval(() => {
      if (s.closed || sent >= frame.length) return clearInterval(drip);
      s.socket.write(frame.subarray(sent, sent + 1));
      sent++;
    }, 20);
    try {
      expect(await s.waitForClose(5000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(sent).toBeLessThan(frame.length);
    expect(s.replies).toEqual([]);
  });

  it('closes a connection that stays idle for STEP_IDLE_TIMEOUT_MS after its last reply', async () => {
    const s = await open();
    s.socket.write(EARTH);
    expect((await s.waitForReplies(1)).map((r) => r.status)).toEqual([333]);
    expect(await s.waitForClose(5000)).toBe(true);
  });

  it('keeps a connection that sends requests more often than the idle timeout', async () => {
    const s = await open();
    for (let i = 0; i < 6; i++) {
      s.socket.write(EARTH);
      await s.waitForReplies(i + 1);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(s.closed).toBe(false);
    expect(s.replies).toHaveLength(6);
  });

  it('closes a connection whose replies stay unread for STEP_IDLE_TIMEOUT_MS (a stalled reader)', async () => {
    const s = await open('127.0.0.6');
    s.socket.pause();
    // 408 replies echo the long operation twice: megabytes of replies the client never reads.
    const unknown = encodeFrame(request({ type: 'AUTH', operation: 'x'.repeat(900) }));
    s.socket.write(Buffer.concat(Array.from({ length: 20_000 }, () => unknown)));
    await new Promise((r) => setTimeout(r, 200));
    expect(app.stepServer.openConnections).toBe(1);
    for (let i = 0; i < 100 && app.stepServer.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(app.stepServer.openConnections).toBe(0);
    // A paused socket cannot notice the close; reading again shows it.
    s.socket.resume();
    expect(await s.waitForClose()).toBe(true);
  });

  it('answers 429 to connections over STEP_MAX_CONNECTIONS_PER_ADDRESS, then closes them; other addresses are not affected', async () => {
    const kept = await Promise.all(Array.from({ length: 4 }, () => open()));
    for (const s of kept) s.socket.write(EARTH);
    await Promise.all(kept.map((s) => s.waitForReplies(1)));
    const refused = await open();
    expect(await refused.waitForClose()).toBe(true);
    expect(refused.replies).toEqual([
      expect.objectContaining({ status: 429, status_msg: 'Too many connections. Try again later.', direction: 'RESPONSE' }),
    ]);
    const elsewhere = await open('127.0.0.2');
    elsewhere.socket.write(EARTH);
    expect((await elsewhere.waitForReplies(1)).map((r) => r.status)).toEqual([333]);
    // A slot freed by a closing connection is given to the next one.
    kept[0].socket.destroy();
    await kept[0].waitForClose();
    let again: RawSocket | null = null;
    for (let attempt = 0; attempt < 50 && !again; attempt++) {
      const s = await open();
      s.socket.write(EARTH);
      const [first] = await s.waitForReplies(1);
      if (first?.status === 333) again = s;
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(again).not.toBeNull();
  });

  it('answers 429 to LOGINs after STEP_LOGIN_ATTEMPTS_PER_MINUTE failures from one address, never to the right legacy password', async () => {
    const s = await open('127.0.0.3');
    const attempt = (password: string) => encodeFrame(request({ operation: 'LOGIN', type: 'AUTH', username: 'victim', password }));
    // Five wrong guesses use up the five failures of this minute.
    s.socket.write(Buffer.concat([...['a', 'b', 'c', 'd', 'e', 'f'].map(attempt), attempt(md5Hex('victim'))]));
    const replies = await s.waitForReplies(7);
    expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 200]);
    expect(replies[5]).toMatchObject({ operation: 'LOGIN', type: 'AUTH', status_msg: 'Too many login attempts. Try again later.' });
    // Another address still gets its own guesses at another name.
    const other = await openRawSocket(app.stepAddress.port, '127.0.0.4');
    sockets.push(other);
    other.socket.write(encodeFrame(request({ operation: 'LOGIN', type: 'AUTH', username: 'someone', password: 'x' })));
    expect((await other.waitForReplies(1)).map((r) => r.status)).toEqual([401]);
  });

  it('answers every request fully received before the client shut down its sending side', async () => {
    const s = await open('127.0.0.5');
    const logins = Array.from({ length: 5 }, (_, i) =>
      encodeFrame(request({ operation: 'LOGIN', type: 'AUTH', username: `u${i}`, password: md5Hex(`u${i}`) })),
    );
    s.socket.end(Buffer.concat([EARTH, encodeFrame(request({ operation: 'FLY', type: 'AUTH' })), ...logins, EARTH]));
    const replies = await s.waitForReplies(8);
    expect(replies.map((r) => r.status)).toEqual([333, 408, 200, 200, 200, 200, 200, 333]);
    expect(await s.waitForClose()).toBe(true);
  });
});

describe('connection flood', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ STEP_MAX_CONNECTIONS: '100', STEP_MAX_CONNECTIONS_PER_ADDRESS: '1000' });
  });
  afterAll(async () => app.stop());

  it('serves STEP_MAX_CONNECTIONS sockets, refuses the rest with 429, and keeps serving afterwards', async () => {
    const flood = await Promise.all(Array.from({ length: 300 }, () => openRawSocket(app.stepAddress.port)));
    try {
      for (const s of flood) s.socket.write(EARTH);
      const firsts = await Promise.all(flood.map(async (s) => (await s.waitForReplies(1, 10_000))[0]?.status));
      expect(firsts.filter((status) => status === 333)).toHaveLength(100);
      expect(firsts.filter((status) => status === 429)).toHaveLength(200);
      const refused = flood.filter((_, i) => firsts[i] === 429);
      expect(await Promise.all(refused.map((s) => s.waitForClose()))).toEqual(refused.map(() => true));
      expect(app.stepServer.openConnections).toBe(100);
    } finally {
      for (const s of flood) s.socket.destroy();
    }
    for (let i = 0; i < 200 && app.stepServer.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(app.stepServer.openConnections).toBe(0);
    const conn = await app.connect();
    expect(await login(conn, 'after-flood')).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(statusOf(await conn.request({ direction: 'EARTH' }))).toBe(333);
  });
});

describe('connections that have not logged in', () => {
  let app: TestApp;
  afterAll(async () => app?.stop());

  it('closes them after STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS, and a logged-in one only after STEP_IDLE_TIMEOUT_MS', async () => {
    app = await startTestApp({ STEP_IDLE_TIMEOUT_MS: '60000', STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS: '300' });
    const anonymous = await openRawSocket(app.stepAddress.port);
    // A request that needs no login does not count as logging in.
    anonymous.socket.write(encodeFrame({ direction: 'EARTH' }));
    const member = await openRawSocket(app.stepAddress.port);
    member.socket.write(encodeFrame(request({ operation: 'LOGIN', type: 'AUTH', username: 'member', password: md5Hex('member') })));
    expect((await member.waitForReplies(1))[0]?.status).toBe(200);
    expect(await anonymous.waitForClose(5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(member.closed).toBe(false);
    member.socket.destroy();
  });
});
