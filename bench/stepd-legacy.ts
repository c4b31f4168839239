import { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { StepDirection, StepOperation, StepStatus, StepType, type StepJson } from '../src/protocol/index.js';
import { BlockReader } from './block-reader.js';
import type { StepdTarget } from './stepd-engine.js';

/** The block size old clients use (they never ask for a `block_size`, docs/protocol.md §6). */
export const LEGACY_BLOCK_SIZE = 20_480;

/** Opens a connection and logs in with the legacy password (MD5 of the user name). */
export async function stepdLogin(target: StepdTarget): Promise<{ connection: StepClientConnection; token: string }> {
  const connection = await StepClientConnection.connect({ host: target.host, port: target.port, timeoutMs: 60_000 });
  const reply = await connection.request({
    type: StepType.AUTH,
    operation: StepOperation.LOGIN,
    direction: StepDirection.REQUEST,
    username: target.user,
    password: md5Hex(target.user),
  });
  if (reply.json.status !== StepStatus.OK) throw new Error(`stepd LOGIN: ${JSON.stringify(reply.json)}`);
  return { connection, token: String(reply.json.token) };
}

/** Sends one request and throws unless the status is OK (200). */
export async function stepdCall(connection: StepClientConnection, json: StepJson, binary?: Buffer): Promise<StepJson> {
  const reply = await connection.request({ direction: StepDirection.REQUEST, ...json }, binary);
  if (reply.json.status !== StepStatus.OK) throw new Error(`stepd ${json.type} ${json.operation}: ${JSON.stringify(reply.json)}`);
  return reply.json;
}

/** Deletes stored files so runs do not fill the disk (a missing key is fine). */
export async function stepdDelete(target: StepdTarget, ...keys: string[]): Promise<void> {
  const { connection, token } = await stepdLogin(target);
  try {
    await Promise.all(
      keys.map((key) =>
        connection.request({ type: StepType.FILE, operation: StepOperation.DELETE, direction: StepDirection.REQUEST, token, key }),
      ),
    );
  } finally {
    connection.close();
  }
}

/** The legacy clients (stepd's and the baseline's) read this much at a time and send it in 20480-byte blocks. */
export const LEGACY_READ_BYTES = 200 * LEGACY_BLOCK_SIZE;

/**
 * Uploads like an old STEP client: one connection, SAVE without block_size (20480-byte blocks),
 * one UPLOAD in flight at a time, the MD5 read from the reply to the last block. The file is read
 * in large pieces so that the client's own cost per block stays small next to the server's.
 */
export async function legacyUpload(target: StepdTarget, file: string, key: string): Promise<{ md5: string }> {
  const { connection, token } = await stepdLogin(target);
  const reader = await BlockReader.open(file, LEGACY_READ_BYTES, 1);
  try {
    const plan = await stepdCall(connection, { type: StepType.FILE, operation: StepOperation.SAVE, token, key, size: reader.size });
    if (plan.block_size !== LEGACY_BLOCK_SIZE) throw new Error(`legacy plan has block_size ${String(plan.block_size)}`);
    let last: StepJson = {};
    for (let piece = await reader.next(); piece; piece = await reader.next()) {
      for (let at = 0; at < piece.data.length; at += LEGACY_BLOCK_SIZE) {
        const blockIndex = (piece.offset + at) / LEGACY_BLOCK_SIZE;
        const block = piece.data.subarray(at, at + LEGACY_BLOCK_SIZE);
        last = await stepdCall(
          connection,
          { type: StepType.FILE, operation: StepOperation.UPLOAD, token, key, block_index: blockIndex },
          block,
        );
      }
      piece.release();
    }
    const md5 = reader.digest();
    if (last.md5 !== md5) throw new Error(`legacy md5 mismatch: client ${md5}, server ${String(last.md5)}`);
    return { md5 };
  } finally {
    connection.close();
    await reader.close();
  }
}
