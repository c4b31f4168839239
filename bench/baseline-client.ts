import { connect, type Socket } from 'node:net';
import { BlockReader } from './block-reader.js';
import { BaselineKind, encodeBaselineHeader, REPLY_BYTES } from './baseline.protocol.js';

/** One baseline connection: requests pipelined, replies matched in order (fixed-size replies). */
class BaselineConnection {
  private readonly waiters: Array<{ resolve(text: string): void; reject(err: Error): void }> = [];
  private received: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => this.waiters.splice(0).forEach((w) => w.reject(err));
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('baseline connection closed')));
  }

  static open(port: number): Promise<BaselineConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new BaselineConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  request(kind: BaselineKind, id: number, offset: number, payload?: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.cork();
      this.socket.write(encodeBaselineHeader(kind, id, offset, payload?.length ?? 0));
      if (payload) this.socket.write(payload);
      this.socket.uncork();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    while (this.received.length >= REPLY_BYTES) {
      const status = this.received.readUInt32BE(0);
      const text = this.received.toString('latin1', 4, REPLY_BYTES).replace(/\0+$/, '');
      this.received = this.received.subarray(REPLY_BYTES);
      const waiter = this.waiters.shift();
      if (status === 0) waiter?.resolve(text);
      else waiter?.reject(new Error(`baseline server: ${text}`));
    }
  }
}

/** How the baseline client transfers. */
export interface BaselineUploadOptions {
  port: number;
  file: string;
  transferId: number;
  blockSize: number;
  connections: number;
  /** Requests in flight per connection. */
  window: number;
  /**
   * File bytes read at once, a multiple of blockSize (default blockSize): small blocks are sent
   * from large reads, so that the client's file reads do not dominate the per-block cost.
   */
  readBytes?: number;
}

/**
 * Uploads a file to the baseline server: reads it with reused buffers, hashing while reading,
 * sends blocks over N pipelined connections, and checks the server's MD5 against its own.
 */
export async function baselineUpload(options: BaselineUploadOptions): Promise<{ md5: string }> {
  const readBytes = options.readBytes ?? options.blockSize;
  const reader = await BlockReader.open(options.file, readBytes, options.connections * options.window);
  const connections = await Promise.all(Array.from({ length: options.connections }, () => BaselineConnection.open(options.port)));
  try {
    await connections[0].request(BaselineKind.Open, options.transferId, reader.size);
    const sender = async (connection: BaselineConnection) => {
      for (let piece = await reader.next(); piece; piece = await reader.next()) {
        for (let at = 0; at < piece.data.length; at += options.blockSize) {
          const block = piece.data.subarray(at, at + options.blockSize);
          await connection.request(BaselineKind.Block, options.transferId, piece.offset + at, block);
        }
        piece.release();
      }
    };
    await Promise.all(connections.flatMap((c) => Array.from({ length: options.window }, () => sender(c))));
    const serverMd5 = await connections[0].request(BaselineKind.Finish, options.transferId, 0);
    const md5 = reader.digest();
    if (serverMd5 !== md5) throw new Error(`baseline md5 mismatch: client ${md5}, server ${serverMd5}`);
    return { md5 };
  } finally {
    connections.forEach((c) => c.close());
    await reader.close();
  }
}
