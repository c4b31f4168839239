import { connect } from 'node:net';
import { FrameDecoder, HEADER_BYTES, type StepJson } from '../../src/protocol/index.js';

/** What came back from a raw exchange. */
export interface RawExchange {
  replies: StepJson[];
  /** True when the server closed the connection. */
  closed: boolean;
}

/** A frame with arbitrary JSON bytes and declared lengths (for malformed-input tests). */
export function rawFrame(json: Buffer | string, binary: Buffer = Buffer.alloc(0), declaredJson?: number): Buffer {
  const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(declaredJson ?? body.length, 0);
  header.writeUInt32BE(binary.length, 4);
  return Buffer.concat([header, body, binary]);
}

/**
 * Writes raw bytes on a fresh connection and collects reply frames until `expected` arrived,
 * the server closed, or `timeoutMs` passed (bounded in time, never hangs a test).
 */
export function rawExchange(port: number, bytes: Buffer, expected: number, timeoutMs = 5000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const replies: StepJson[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closed });
    };
    const decoder = new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 30 }, (frame) => {
      if (frame.json) replies.push(frame.json);
      if (replies.length >= expected) finish(false);
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
