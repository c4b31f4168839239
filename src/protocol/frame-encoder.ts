/**
 * Encoding side of the STEP wire format. A frame is an 8-byte header (JSON length N, binary
 * length M; big-endian uint32), N bytes of JSON text (one object) and M raw bytes.
 */
import { toAsciiJson, type StepJson } from './step-json.js';

export const HEADER_BYTES = 8;
/** The largest length a uint32 header field can carry. */
export const MAX_UINT32 = 0xffff_ffff;

/**
 * Encodes a frame as two buffers (header + JSON, then the binary section untouched) so a block
 * payload is never copied; write both inside one cork so the peer sees one complete frame.
 */
export function encodeFrameParts(json: StepJson, binary?: Buffer | null): [Buffer, Buffer | null] {
  const text = toAsciiJson(json);
  const head = Buffer.allocUnsafe(HEADER_BYTES + text.length);
  head.writeUInt32BE(text.length, 0);
  head.writeUInt32BE(binary ? binary.length : 0, 4);
  head.write(text, HEADER_BYTES, 'latin1');
  return [head, binary && binary.length > 0 ? binary : null];
}

/** Encodes a frame into one buffer (copies the binary section; for small frames and tests). */
export function encodeFrame(json: StepJson, binary?: Buffer | null): Buffer {
  const [head, body] = encodeFrameParts(json, binary);
  return body ? Buffer.concat([head, body]) : head;
}
