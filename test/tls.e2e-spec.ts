import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepClientConnection, StepConnectionError } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame } from '../src/protocol/index.js';
import { makeCertificate } from './helpers/certificate.js';
import { request, startTestApp, type TestApp } from './helpers/test-app.js';

/**
 * Sends a plain (unencrypted) STEP frame to `port` and collects whatever comes back until the
 * server closes the connection (bounded in time).
 */
function plainExchange(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? finish(true) : reject(err)));
  });
}

const LOGIN = request({ type: 'AUTH', operation: 'LOGIN', username: 'alice', password: md5Hex('alice') });

describe('STEP over TLS (docs/protocol.md §1)', () => {
  let dir: string;
  let ca: Buffer;
  let app: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepd-tls-'));
    const { cert, key } = await makeCertificate(dir);
    ca = await readFile(cert);
    app = await startTestApp({ STEP_TLS_CERT: cert, STEP_TLS_KEY: key });
  });
  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tlsConnect = (tls: { ca?: Buffer; servername?: string }, host = '127.0.0.1') =>
    StepClientConnection.connect({ host, port: app.stepAddress.port, tls, timeoutMs: 10_000 });

  /** The error a TLS connect fails with, or null when it succeeded (the connection is then closed). */
  const connectError = (tls: { ca?: Buffer; servername?: string }) =>
    tlsConnect(tls).then(
      (conn) => {
        conn.close();
        return null;
      },
      (err: StepConnectionError) => err,
    );

  it('speaks the same framing inside TLS: LOGIN, then a request with the token', async () => {
    const conn = await tlsConnect({ ca });
    try {
      const reply = await conn.request(LOGIN);
      expect(reply.json).toMatchObject({ status: 200, status_msg: 'Login successfully' });
      const token = reply.json.token as string;
      const next = await conn.request(request({ type: 'AUTH', operation: 'SAVE', token }));
      expect(next.json).toMatchObject({ status: 408 });
    } finally {
      conn.close();
    }
  });

  it('verifies the certificate by name too (localhost)', async () => {
    const conn = await tlsConnect({ ca }, 'localhost');
    try {
      expect((await conn.request(LOGIN)).json.status).toBe(200);
    } finally {
      conn.close();
    }
  });

  it('refuses a client that does not trust the certificate, and accepts it with the CA', async () => {
    const refused = await connectError({});
    expect(refused).toBeInstanceOf(StepConnectionError);
    expect(refused?.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect((await connectError({ ca, servername: 'example.org' }))?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const trusted = await tlsConnect({ ca });
    try {
      expect((await trusted.request(LOGIN)).json.status).toBe(200);
    } finally {
      trusted.close();
    }
  });

  it('answers a plain-TCP client with no STEP reply, closes it, and keeps serving', async () => {
    const { received, closed } = await plainExchange(app.stepAddress.port, encodeFrame(LOGIN));
    expect(closed).toBe(true);
    // At most a TLS alert record (content type 21), never a STEP frame.
    if (received.length > 0) expect(received[0]).toBe(21);
    expect(received.toString('latin1')).not.toContain('"status"');
    const conn = await tlsConnect({ ca });
    try {
      expect((await conn.request(LOGIN)).json.status).toBe(200);
    } finally {
      conn.close();
    }
  });
});

describe('TLS handshakes and the connection limits', () => {
  let dir: string;
  let ca: Buffer;
  let app: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepd-tls-limits-'));
    const { cert, key } = await makeCertificate(dir);
    ca = await readFile(cert);
    app = await startTestApp({
      STEP_TLS_CERT: cert,
      STEP_TLS_KEY: key,
      STEP_MAX_CONNECTIONS_PER_ADDRESS: '2',
      STEP_TLS_HANDSHAKE_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A plain TCP connection to the TLS port; resolves once connected, with a promise of its close. */
  async function rawTcp(localAddress = '127.0.0.1') {
    const socket = connect({ port: app.stepAddress.port, host: '127.0.0.1', localAddress });
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      socket.once('close', () => resolve(Date.now() - started));
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, closed };
  }

  it('counts connections still in their handshake against the per-address limit, from TCP accept', async () => {
    const first = await rawTcp();
    const second = await rawTcp();
    const third = await rawTcp();
    // The third from the same address is over the limit at once, handshake or not.
    expect(await Promise.race([third.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])).toBe(true);
    // Another address is not affected.
    const other = connectTls({
      socket: connect({ port: app.stepAddress.port, host: '127.0.0.1', localAddress: '127.0.0.2' }),
      ca,
      servername: 'localhost',
    });
    other.on('error', () => undefined);
    try {
      expect(await new Promise((resolve) => other.once('secureConnect', () => resolve(true)).once('close', () => resolve(false)))).toBe(
        true,
      );
    } finally {
      other.destroy();
    }
    first.socket.destroy();
    second.socket.destroy();
  });

  it('closes a connection that trickles its handshake past STEP_TLS_HANDSHAKE_TIMEOUT_MS', async () => {
    const { socket, closed } = await rawTcp('127.0.0.3');
    // The start of a ClientHello record, one byte every 200 ms: never complete, never idle.
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Array<number>(40).fill(7)]);
    let at = 0;
    const trickle = setInterval(() => at < hello.length && !socket.destroyed && socket.write(hello.subarray(at, ++at)), 200);
    try {
      // Without a deadline of its own the trickle (10 s) would keep it open past this bound.
      const lasted = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 6000))]);
      expect(lasted).toBeGreaterThan(0);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});
