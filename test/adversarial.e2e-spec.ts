import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { StepClientConnection } from '../src/client/step-client.connection.js';
import { encodeFrame, HEADER_BYTES, type StepJson } from '../src/protocol/index.js';
import { makeCertificate } from './helpers/certificate.js';
import { processCpuSeconds, processMemory } from './helpers/process-memory.js';
import { openRawSocket, type RawSocket } from './helpers/raw-socket.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { login, request } from './helpers/test-app.js';

const MiB = 1024 * 1024;

/** A frame header and JSON section declaring a binary section of `binaryLength` bytes (not sent). */
function frameHead(json: StepJson, binaryLength: number): Buffer {
  const text = Buffer.from(JSON.stringify(json));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(text.length, 0);
  header.writeUInt32BE(binaryLength, 4);
  return Buffer.concat([header, text]);
}

/**
 * Samples the server's resident memory every 50 ms while `during` runs, and returns how far it
 * rose above where it started (VmHWM would carry peaks of earlier tests on the same server).
 */
async function rssGrowth(pid: number, during: () => Promise<void>): Promise<number> {
  const start = processMemory(pid).rss;
  let highest = start;
  const sampler = setInterval(() => (highest = Math.max(highest, processMemory(pid).rss)), 50);
  try {
    await during();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(highest, processMemory(pid).rss) - start;
}

/** Resolves once every byte written to `raw` is flushed or the socket failed (bounded). */
function written(raw: RawSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if (raw.closed) return done();
    raw.socket.write(Buffer.alloc(0), done);
    raw.socket.once('close', done);
  });
}

/** A JSON object of exactly `size` bytes (padded in a string field). */
function paddedJson(fields: Record<string, unknown>, size: number): Buffer {
  const bare = JSON.stringify({ ...fields, pad: '' });
  return Buffer.from(JSON.stringify({ ...fields, pad: 'x'.repeat(size - bare.length) }));
}

/** Blocks the test process for `ms` (fractions allowed): paces writes finer than timers can. */
const pause = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

/**
 * Hostile clients measured on a real server process: the server's own CPU time and
 * resident memory, read from /proc, bound what one client may make it spend.
 */
describe('adversarial clients: server CPU and memory', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-adversarial-'));
    server = await startServerProcess(dataDir);
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'spends linear work on a JSON section trickled one byte per write (it walked every held byte per read)',
    { timeout: 60_000 },
    async () => {
      const jsonBytes = 65535;
      const json = paddedJson(
        { direction: 'REQUEST', type: 'AUTH', operation: 'LOGIN', username: 'trickle', password: 'wrong' },
        jsonBytes,
      );
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32BE(jsonBytes, 0);
      const raw = await openRawSocket(server.stepPort);
      raw.socket.setNoDelay(true);
      const cpuBefore = processCpuSeconds(server.child.pid!);
      raw.socket.write(header);
      // One byte per write, ~0.1 ms apart, so that the server reads (and holds) one byte at a time.
      for (let i = 0; i < jsonBytes; i++) {
        raw.socket.write(json.subarray(i, i + 1));
        sleepSync(0.1);
        if (i % 256 === 255) await yieldToLoop();
      }
      const replies = await raw.waitForReplies(1, 20_000);
      const cpu = processCpuSeconds(server.child.pid!) - cpuBefore;
      console.log(`one-byte trickle of a ${jsonBytes}-byte JSON section: ${cpu.toFixed(2)} s of server CPU`);
      expect(replies[0]?.status).toBe(401);
      expect(cpu).toBeLessThan(1.5);
      raw.socket.destroy();
    },
  );

  it(
    'reads no binary section of a connection that never logged in: 12 x 63 MiB of declared 64 MiB blocks',
    { timeout: 60_000 },
    async () => {
      const payload = Buffer.alloc(63 * MiB, 0x5a);
      const head = frameHead(request({ type: 'FILE', operation: 'UPLOAD', key: 'k', block_index: 0 }), 64 * MiB);
      const sockets: RawSocket[] = [];
      const growth = await rssGrowth(server.child.pid!, async () => {
        sockets.push(...(await Promise.all(Array.from({ length: 12 }, () => openRawSocket(server.stepPort)))));
        for (const raw of sockets) {
          raw.socket.write(head);
          raw.socket.write(payload);
        }
        await Promise.all(sockets.map((raw) => written(raw, 15_000)));
        // Whatever the server would hold, it has read by now (a bounded wait, no assertion on time).
        await new Promise((r) => setTimeout(r, 1000));
      });
      console.log(`12 unauthenticated 63 MiB binary sections: server RSS grew ${(growth / MiB).toFixed(1)} MiB`);
      expect(growth).toBeLessThan(160 * MiB);
      for (const raw of sockets) {
        expect((await raw.waitForReplies(1))[0]?.status).toBe(403);
        expect(await raw.waitForClose()).toBe(true);
      }
    },
  );

  it('bounds reply memory for DOWNLOADs never read: 16 connections x one 64 MiB block', { timeout: 90_000 }, async () => {
    const block = Buffer.alloc(64 * MiB, 0xa5);
    const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 30_000 });
    const token = await login(conn, 'hoarder');
    const file = (operation: string, fields: StepJson) => request({ type: 'FILE', operation, token, key: 'huge', ...fields });
    expect((await conn.request(file('SAVE', { size: block.length, block_size: block.length }))).json).toMatchObject({
      status: 200,
      total_block: 1,
    });
    expect((await conn.request(file('UPLOAD', { block_index: 0 }), block)).json).toMatchObject({ status: 200 });
    conn.close();
    const readers: RawSocket[] = [];
    const growth = await rssGrowth(server.child.pid!, async () => {
      readers.push(...(await Promise.all(Array.from({ length: 16 }, () => openRawSocket(server.stepPort)))));
      for (const reader of readers) {
        reader.socket.pause();
        reader.socket.write(encodeFrame(file('DOWNLOAD', { block_index: 0, block_size: block.length })));
      }
      // Give the server time to produce every reply it is willing to (bounded wait, no time assertion).
      await new Promise((r) => setTimeout(r, 4000));
    });
    console.log(`16 unread 64 MiB DOWNLOAD replies: server RSS grew ${(growth / MiB).toFixed(1)} MiB`);
    for (const reader of readers) reader.socket.destroy();
    expect(growth).toBeLessThan(400 * MiB);
    // Every reply still comes once its reader reads.
    const late = await openRawSocket(server.stepPort);
    late.socket.write(encodeFrame(file('DOWNLOAD', { block_index: 0, block_size: block.length })));
    expect((await late.waitForReplies(1, 30_000))[0]).toMatchObject({ status: 200, size: block.length });
    late.socket.destroy();
  });
});

describe('adversarial clients: TLS port', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-adversarial-tls-'));
    const { cert, key } = await makeCertificate(dataDir);
    server = await startServerProcess(dataDir, { STEP_TLS_CERT: cert, STEP_TLS_KEY: key });
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'closes a TCP connection that never starts its TLS handshake within 15 s (default handshake timeout 10 s)',
    { timeout: 30_000 },
    async () => {
      const socket = connect(server.stepPort, '127.0.0.1');
      socket.on('error', () => undefined);
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 15_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      socket.destroy();
      expect(closed).toBe(true);
    },
  );
});

describe('adversarial clients: logged-in uploads against STEP_MAX_PREALLOCATED_BYTES', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-adversarial-cap-'));
    server = await startServerProcess(dataDir, { STEP_MAX_PREALLOCATED_BYTES: String(64 * MiB) });
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops reading blocks past the cap instead of buffering them, and finishes them once there is room', { timeout: 90_000 }, async () => {
    const blocks = 6;
    const blockSize = 64 * MiB;
    const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 30_000 });
    const token = await login(conn, 'capped');
    const file = (operation: string, fields: StepJson) => request({ type: 'FILE', operation, token, key: 'capped', ...fields });
    expect((await conn.request(file('SAVE', { size: blocks * blockSize, block_size: blockSize }))).json).toMatchObject({
      status: 200,
      total_block: blocks,
    });
    conn.close();
    const content = Buffer.alloc(blockSize, 0x3c);
    const uploaders = await Promise.all(Array.from({ length: blocks }, () => openRawSocket(server.stepPort)));
    const growth = await rssGrowth(server.child.pid!, async () => {
      uploaders.forEach((raw, i) => {
        raw.socket.write(frameHead(file('UPLOAD', { block_index: i }), blockSize));
        raw.socket.write(content.subarray(0, blockSize - MiB));
      });
      // Give the server time to read all it is willing to (bounded wait, no time assertion).
      await new Promise((r) => setTimeout(r, 3000));
    });
    console.log(`${blocks} logged-in 63 MiB blocks under a 64 MiB cap: server RSS grew ${(growth / MiB).toFixed(1)} MiB`);
    // One block buffer at a time (64 MiB) plus what sits in socket buffers; not six of them.
    expect(growth).toBeLessThan(160 * MiB);
    for (const raw of uploaders) raw.socket.write(content.subarray(blockSize - MiB));
    const replies = await Promise.all(uploaders.map((raw) => raw.waitForReplies(1, 60_000)));
    expect(replies.map((r) => r[0]?.status)).toEqual(Array<number>(blocks).fill(200));
    expect(replies.some((r) => typeof r[0]?.md5 === 'string')).toBe(true);
    for (const raw of uploaders) raw.socket.destroy();
  });
});
