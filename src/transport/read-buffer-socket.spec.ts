import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptWithReadBuffer } from './read-buffer-socket.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback server handing each accepted socket to `onSocket`; resolves once listening. */
async function listen(pauseOnConnect: boolean, onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect }, onSocket);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Sends `data`, half-closes, and resolves with everything the server says before it ends. */
function sendAndRead(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(port, '127.0.0.1', () => client.end(data));
    let reply = '';
    client.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    client.on('end', () => resolve(reply));
    client.on('error', reject);
  });
}

describe('adoptWithReadBuffer', () => {
  it('delivers every byte as views of the one buffer, keeps writes and half-close working', async () => {
    // This is stepd's receive fast path: if a Node upgrade breaks the adoption, this fails.
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const readBuffer = Buffer.alloc(64 * 1024);
    const received: Buffer[] = [];
    let adopted: Socket | null = null;
    let allViews = true;
    const { server, port } = await listen(true, (shell) => {
      adopted = adoptWithReadBuffer(shell, readBuffer, (chunk) => {
        allViews &&= chunk.buffer === readBuffer.buffer && chunk.length <= readBuffer.length;
        received.push(Buffer.from(chunk));
      });
      // allowHalfOpen carries over: after the peer's end, the reply still goes out.
      adopted?.on('end', () => adopted?.end(`got ${Buffer.concat(received).length}`));
    });
    const reply = await sendAndRead(port, data);
    expect(adopted).not.toBeNull();
    expect(reply).toBe(`got ${data.length}`);
    expect(allViews).toBe(true);
    expect(Buffer.concat(received).equals(data)).toBe(true);
    // The shell was destroyed, so net.Server does not count it as an open connection.
    await expect.poll(() => new Promise((resolve) => server.getConnections((_, n) => resolve(n)))).toBe(0);
  });

  it('leaves a socket that is already reading alone', async () => {
    let result: Socket | null | undefined;
    const { port } = await listen(false, (socket) => {
      result = adoptWithReadBuffer(socket, Buffer.alloc(1024), () => undefined);
      socket.resume();
      socket.end('plain');
    });
    expect(await sendAndRead(port, Buffer.from('x'))).toBe('plain');
    expect(result).toBeNull();
  });

  it('falls back to normal reads when the adopted socket cannot be built (it crashed the server)', async () => {
    let result: Socket | null | undefined;
    const { port } = await listen(true, (socket) => {
      // A handle that looks adoptable but lacks what the onread option needs: constructing the
      // new socket throws, as it would on a Node whose internals changed.
      const shell = socket as Socket & { _handle: object };
      const real = shell._handle;
      shell._handle = { readStart: () => 0, reading: false };
      try {
        result = adoptWithReadBuffer(socket, Buffer.alloc(1024), () => undefined);
      } finally {
        shell._handle = real;
      }
      socket.on('data', (chunk: Buffer) => socket.end(`echo ${chunk.toString()}`));
      socket.resume();
    });
    expect(await sendAndRead(port, Buffer.from('x'))).toBe('echo x');
    expect(result).toBeNull();
  });
});
