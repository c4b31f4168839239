import type { StepClientConnection, StepResponse } from '../../src/client/step-client.connection.js';
import { request } from './test-app.js';

/** The reply to a FILE STATUS (docs/protocol.md §6). */
export interface UploadStatus {
  status: number;
  blockSize: number;
  totalBlock: number;
  missing: number[];
  complete: boolean;
  md5?: string;
}

/** Block indexes listed by STATUS `missing_ranges` ([first, last] inclusive pairs). */
export function missingBlocks(ranges: unknown): number[] {
  const out: number[] = [];
  for (const [first, last] of (ranges as Array<[number, number]>) ?? []) for (let i = first; i <= last; i++) out.push(i);
  return out;
}

/** FILE STATUS for `key`. */
export async function uploadStatus(conn: StepClientConnection, token: string, key: string): Promise<UploadStatus> {
  const reply = await conn.request(request({ type: 'FILE', operation: 'STATUS', token, key }));
  const json = reply.json;
  return {
    status: json.status as number,
    blockSize: json.block_size as number,
    totalBlock: json.total_block as number,
    missing: missingBlocks(json.missing_ranges),
    complete: json.complete === true,
    md5: json.md5 as string | undefined,
  };
}

/** Sends one block of `content` (block `index` of `blockSize`). */
export function uploadBlock(
  conn: StepClientConnection,
  token: string,
  key: string,
  content: Buffer,
  blockSize: number,
  index: number,
): Promise<StepResponse> {
  const block = content.subarray(index * blockSize, Math.min(content.length, (index + 1) * blockSize));
  return conn.request(request({ type: 'FILE', operation: 'UPLOAD', token, key, block_index: index }), block);
}

/** Uploads the given blocks pipelined `window` at a time; calls onAck for each 200. */
export async function uploadBlocks(
  conn: StepClientConnection,
  token: string,
  key: string,
  content: Buffer,
  blockSize: number,
  blocks: number[],
  onAck: (index: number, reply: StepResponse) => void = () => undefined,
  window = 8,
): Promise<void> {
  for (let i = 0; i < blocks.length; i += window) {
    const slice = blocks.slice(i, i + window);
    const replies = await Promise.all(slice.map((index) => uploadBlock(conn, token, key, content, blockSize, index)));
    replies.forEach((reply, j) => {
      if (reply.json.status !== 200) throw new Error(`block ${slice[j]} of ${key}: ${JSON.stringify(reply.json)}`);
      onAck(slice[j], reply);
    });
  }
}
