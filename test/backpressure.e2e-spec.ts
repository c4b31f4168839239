import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepClientConnection } from '../src/client/step-client.connection.js';
import { encodeFrame } from '../src/protocol/index.js';
import { processMemory } from './helpers/process-memory.js';
import { openRawSocket } from './helpers/raw-socket.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { uploadBlocks } from './helpers/step-upload.js';
import { login, request } from './helpers/test-app.js';

const MiB = 1024 * 1024;

/** Backpressure, measured on a real server process through /proc. */
describe('backpressure', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-backpressure-'));
    server = await startServerProcess(dataDir, { STEP_MAX_QUEUED_BYTES_PER_CONNECTION: String(256 * 1024) });
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'stops reading a client that pipelines small requests without reading replies, so server memory stays bounded',
    { timeout: 120_000 },
    async () => {
      const frames = 100_000;
      // An unknown operation is echoed twice in its 408 reply: 100 MB in, 200 MB out, far more
      // than the kernel's socket buffers hold.
      const unknown = encodeFrame({ direction: 'REQUEST', type: 'AUTH', operation: 'x'.repeat(1000) });
      const before = processMemory(server.child.pid!);
      const s = await openRawSocket(server.stepPort);
      // Replies are not read yet: once they fill the socket buffers the server can no longer
      // write, and without read backpressure it would queue every request in its heap.
      s.socket.pause();
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => unknown));
      for (let i = 0; i < frames / 1000; i++) s.socket.write(batch);
      // Give the server time to read as much as it is willing to (a bounded wait, no assertion on time).
      await new Promise((r) => setTimeout(r, 3000));
      expect(s.socket.writableLength).toBeGreaterThan(0); // the server stopped reading us
      const stalled = processMemory(server.child.pid!);
      s.socket.resume();
      const replies = await s.waitForReplies(frames, 90_000);
      expect(replies.length).toBe(frames);
      expect(replies.every((r) => r.status === 408)).toBe(true);
      const after = processMemory(server.child.pid!);
      console.log(`pipelined requests: server peak grew ${((after.peak - before.rss) / MiB).toFixed(1)} MiB`);
      // Unbounded queuing would hold the 100 MB of requests (and their parsed JSON) in the heap.
      expect(stalled.peak - before.rss).toBeLessThan(100 * MiB);
      expect(after.peak - before.rss).toBeLessThan(150 * MiB);
      s.socket.destroy();
    },
  );

  it(
    'bounds server memory while many slow clients pipeline DOWNLOADs they do not read (write backpressure)',
    { timeout: 120_000 },
    async () => {
      const blockSize = MiB;
      const content = randomBytes(8 * MiB);
      const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 30_000 });
      const token = await login(conn, 'slow-reader');
      const plan = await conn.request(
        request({ type: 'FILE', operation: 'SAVE', token, key: 'big.bin', size: content.length, block_size: blockSize }),
      );
      expect(plan.json).toMatchObject({ status: 200, block_size: blockSize, total_block: 8 });
      await uploadBlocks(conn, token, 'big.bin', content, blockSize, [0, 1, 2, 3, 4, 5, 6, 7]);
      conn.close();

      const clients = 16;
      const perClient = 40; // 40 MiB of replies per client, 640 MiB in all
      const before = processMemory(server.child.pid!);
      const readers = await Promise.all(Array.from({ length: clients }, () => openRawSocket(server.stepPort)));
      for (const reader of readers) {
        reader.socket.pause();
        const downloads = Array.from({ length: perClient }, (_, i) =>
          encodeFrame(request({ type: 'FILE', operation: 'DOWNLOAD', token, key: 'big.bin', block_index: i % 8, block_size: blockSize })),
        );
        reader.socket.write(Buffer.concat(downloads));
      }
      // Give the server time to produce as much as it is willing to (bounded wait, no time assertion).
      await new Promise((r) => setTimeout(r, 3000));
      const stalled = processMemory(server.child.pid!);
      for (const reader of readers) reader.socket.resume();
      const replies = await Promise.all(readers.map((reader) => reader.waitForReplies(perClient, 60_000)));
      for (const list of replies) {
        expect(list).toHaveLength(perClient);
        expect(list.every((r) => r.status === 200)).toBe(true);
      }
      const after = processMemory(server.child.pid!);
      for (const reader of readers) reader.socket.destroy();
      console.log(`slow DOWNLOAD readers: server peak grew ${((after.peak - before.rss) / MiB).toFixed(1)} MiB`);
      // Unbounded buffering would hold all 640 MiB of replies; one block in flight per client is ~16 MiB.
      expect(stalled.peak - before.rss).toBeLessThan(200 * MiB);
      expect(after.peak - before.rss).toBeLessThan(250 * MiB);
    },
  );
});
