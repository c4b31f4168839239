import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../protocol/index.js';
import { StepClientConnection, StepConnectionError } from './step-client.connection.js';

/** A server whose every accepted socket is handed to `onSocket`. */
async function serve(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('StepClientConnection reply timer', () => {
  let server: Server | null = null;
  afterEach(async () => {
    server?.close();
    server = null;
  });

  it('waits for a reply whose bytes keep arriving for longer than the timeout', async () => {
    const reply = encodeFrame({ status: 200, pad: 'x'.repeat(400) });
    ({ server } = await serve((socket) => {
      socket.once('data', async () => {
        // 20 pieces 60 ms apart: 1.2 s for the whole reply against a 400 ms timeout.
        const piece = Math.ceil(reply.length / 20);
        for (let sent = 0; sent < reply.length && !socket.destroyed; sent += piece) {
          socket.write(reply.subarray(sent, sent + piece));
          await sleep(60);
        }
      });
    }));
    const connection = await StepClientConnection.connect({
      host: '127.0.0.1',
      port: (server.address() as { port: number }).port,
      timeoutMs: 400,
    });
    const response = await connection.request({ operation: 'EARTH' });
    expect(response.json.status).toBe(200);
    connection.close();
  });

  it('waits while a large request is still being sent to a slow reader, however long that takes', async () => {
    const body = Buffer.alloc(24 * 1024 * 1024);
    ({ server } = await serve((socket) => {
      let got = 0;
      let burst = 0;
      const decoder = new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 30 }, () =>
        socket.write(encodeFrame({ status: 200 })),
      );
      // Reads about 8 MB/s: some 3 s for the request, several times the 800 ms timeout.
      socket.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        got += chunk.length;
        burst += chunk.length;
        if (burst < 128 * 1024 || got >= body.length) return;
        burst = 0;
        socket.pause();
        setTimeout(() => socket.resume(), 16);
      });
    }));
    const connection = await StepClientConnection.connect({
      host: '127.0.0.1',
      port: (server.address() as { port: number }).port,
      timeoutMs: 800,
    });
    const started = performance.now();
    const response = await connection.request({ operation: 'UPLOAD' }, body);
    expect(response.json.status).toBe(200);
    // The request really outlasted the timeout (otherwise this test proves nothing).
    expect(performance.now() - started).toBeGreaterThan(1600);
    connection.close();
  }, 20_000);

  it('fails with ETIMEDOUT once nothing moves for the timeout', async () => {
    ({ server } = await serve(() => undefined));
    const connection = await StepClientConnection.connect({
      host: '127.0.0.1',
      port: (server.address() as { port: number }).port,
      timeoutMs: 300,
    });
    const started = performance.now();
    const error = await connection.request({ operation: 'EARTH' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StepConnectionError);
    expect((error as StepConnectionError).code).toBe('ETIMEDOUT');
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
