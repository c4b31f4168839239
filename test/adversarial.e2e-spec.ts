import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_BYTES } from '../src/transport/step.codec.js';
import { processCpuSeconds } from './helpers/process-memory.js';
import { openRawSocket } from './helpers/raw-socket.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';

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
 * Hostile clients measured on a real server process (issue 13): the server's own CPU time and
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

  it('spends linear work on a JSON section trickled one byte per write (it walked every held byte per read)', { timeout: 60_000 }, async () => {
    const jsonBytes = 65535;
    const json = paddedJson({ direction: 'REQUEST', type: 'AUTH', operation: 'LOGIN', username: 'trickle', password: 'wrong' }, jsonBytes);
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
  });
});
