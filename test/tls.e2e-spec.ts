import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepClientConnection, StepConnectionError } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame } from '../src/transport/step.codec.js';
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

describe('STEP over TLS (spec C6)', () => {
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
