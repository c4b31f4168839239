/**
 * The baseline's minimal wire format: no JSON, no routing, no database, only what any block
 * transfer over several connections must do. It is the local "limit" stepd is compared with.
 *
 * Request: 20-byte header (u32 kind, u32 transfer id, u64 offset, u32 length) then `length`
 * payload bytes for BLOCK. Reply: u32 status then 32 bytes (the MD5 hex for FINISH).
 */
export const REQUEST_HEADER_BYTES = 20;
export const REPLY_BYTES = 36;

/** Request kinds. */
export enum BaselineKind {
  /** Create the file; `offset` carries its size. */
  Open = 1,
  /** Store `length` bytes at `offset`. */
  Block = 2,
  /** fsync and answer with the MD5 of the whole file. */
  Finish = 3,
}

/** Encodes a request header. */
export function encodeBaselineHeader(kind: BaselineKind, id: number, offset: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
  head.writeUInt32BE(kind, 0);
  head.writeUInt32BE(id, 4);
  head.writeBigUInt64BE(BigInt(offset), 8);
  head.writeUInt32BE(length, 16);
  return head;
}

/** Encodes a reply (status 0 = ok; `text` is at most 32 ASCII characters). */
export function encodeBaselineReply(status: number, text = ''): Buffer {
  const reply = Buffer.alloc(REPLY_BYTES);
  reply.writeUInt32BE(status, 0);
  reply.write(text.slice(0, 32), 4, 'latin1');
  return reply;
}
