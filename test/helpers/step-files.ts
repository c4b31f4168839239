import { createHash } from 'node:crypto';
import type { StepClientConnection, StepResponse } from '../../src/client/step-client.connection.js';
import type { StepJson } from '../../src/protocol/index.js';
import { request } from './test-app.js';

/** Lower-case hex MD5 of bytes. */
export function md5Of(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** A FILE request with the token. */
export function fileRequest(token: string, operation: string, fields: StepJson = {}): StepJson {
  return request({ type: 'FILE', operation, token, ...fields });
}

/** The bytes of block `index` of `data` cut in `blockSize` blocks. */
export function blockOf(data: Buffer, index: number, blockSize: number): Buffer {
  return data.subarray(index * blockSize, Math.min(data.length, (index + 1) * blockSize));
}

/** Asks for an upload plan; throws unless 200. */
export async function savePlan(conn: StepClientConnection, token: string, key: string, size: number, extra: StepJson = {}) {
  const reply = await conn.request(fileRequest(token, 'SAVE', { key, size, ...extra }));
  if (reply.json.status !== 200) throw new Error(`SAVE failed: ${JSON.stringify(reply.json)}`);
  return reply.json as { key: string; block_size: number; total_block: number; size: number };
}

/**
 * Uploads `indices` of `data` (in the given order, pipelined up to `depth` per connection)
 * spread round-robin over `conns`; returns every reply.
 */
export async function uploadBlocks(
  conns: StepClientConnection[],
  token: string,
  key: string,
  data: Buffer,
  blockSize: number,
  indices: number[],
  depth = 4,
): Promise<StepResponse[]> {
  const replies: StepResponse[] = [];
  const queues = conns.map(() => [] as number[]);
  indices.forEach((index, i) => queues[i % conns.length].push(index));
  await Promise.all(
    conns.map(async (conn, c) => {
      const queue = queues[c];
      const inFlight = new Set<Promise<void>>();
      for (const index of queue) {
        const sent = conn
          .request(fileRequest(token, 'UPLOAD', { key, block_index: index }), blockOf(data, index, blockSize))
          .then((reply) => {
            replies.push(reply);
          });
        const tracked: Promise<void> = sent.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= depth) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
  return replies;
}

/** Downloads a whole file block by block on one connection. */
export async function downloadAll(
  conn: StepClientConnection,
  token: string,
  key: string,
  blockSize?: number,
): Promise<{ data: Buffer; plan: StepJson }> {
  const plan = await conn.request(fileRequest(token, 'GET', { key, ...(blockSize ? { block_size: blockSize } : {}) }));
  if (plan.json.status !== 200) throw new Error(`GET failed: ${JSON.stringify(plan.json)}`);
  const total = plan.json.total_block as number;
  const granted = plan.json.block_size as number;
  const replies = await Promise.all(
    Array.from({ length: total }, (_, index) =>
      conn.request(fileRequest(token, 'DOWNLOAD', { key, block_index: index, block_size: granted })),
    ),
  );
  for (const reply of replies) if (reply.json.status !== 200) throw new Error(`DOWNLOAD failed: ${JSON.stringify(reply.json)}`);
  return { data: Buffer.concat(replies.map((r) => r.binary ?? Buffer.alloc(0))), plan: plan.json };
}

/** Fisher-Yates shuffle with a seeded generator (deterministic tests). */
export function shuffled<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
