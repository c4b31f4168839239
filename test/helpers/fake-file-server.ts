import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { md5Hex } from '../../src/common/md5.js';
import { encodeFrame, FrameDecoder, type StepJson } from '../../src/protocol/index.js';

/** Behaviour switches of the fake server. */
export interface FakeServerOptions {
  /** Behave like the old reference server: 20480-byte blocks only, no STATUS/LIST. */
  legacy?: boolean;
  /** Destroy the connection instead of answering the n-th UPLOAD (1-based), once. */
  dropOnUpload?: number;
  /** Destroy the connection instead of answering the n-th DOWNLOAD (1-based), once. */
  dropOnDownload?: number;
  /** Flip a byte of every DOWNLOAD reply while keeping the true block_md5. */
  corruptDownloads?: boolean;
  /** List at most this many STATUS missing ranges, with `missing_ranges_truncated` (docs/protocol.md §6). */
  statusRangeLimit?: number;
  /**
   * Read frames like the reference Python server: each socket read may run past the end of the
   * frame, and what it read beyond is thrown away, so a pipelined request is lost or garbled.
   */
  overReading?: boolean;
  /**
   * A link that breaks under large frames: a connection carrying an UPLOAD request or a
   * DOWNLOAD reply with a binary section over this many bytes is destroyed instead.
   */
  maxBinaryBytes?: number;
}

interface FakeUpload {
  data: Buffer;
  blockSize: number;
  received: Uint8Array;
  complete: boolean;
}

/**
 * An in-memory STEP file server for unit tests of the client engines (the real FilesModule is
 * tested end to end elsewhere). Implements LOGIN and FILE SAVE/UPLOAD/STATUS/GET/DOWNLOAD.
 */
export class FakeFileServer {
  readonly uploads = new Map<string, FakeUpload>();
  uploadRequests = 0;
  /** Block sizes asked for by DOWNLOAD requests, in order. */
  readonly downloadSizes: number[] = [];
  /** Bytes an over-reading server read past a frame's end and threw away (pipelined requests). */
  droppedBytes = 0;
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;

  constructor(private readonly options: FakeServerOptions = {}) {}

  /** Starts listening on an ephemeral loopback port and returns it. */
  async start(): Promise<number> {
    this.server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops and drops every connection. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Puts a partial upload in place, holding the given blocks. */
  seed(key: string, data: Buffer, blockSize: number, receivedBlocks: number[]): void {
    const received = new Uint8Array(Math.ceil(data.length / blockSize));
    for (const i of receivedBlocks) received[i] = 1;
    this.uploads.set(key, { data: Buffer.from(data), blockSize, received, complete: received.every((b) => b === 1) });
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const onFrame = (json: StepJson | null, binary: Buffer | null) => {
      if (socket.destroyed) return;
      const reply = this.handle(json ?? {}, binary, socket);
      if (reply)
        socket.write(encodeFrame({ direction: 'RESPONSE', type: json?.type, operation: json?.operation, ...reply.json }, reply.binary));
    };
    if (this.options.overReading) {
      const reader = new OverReadingFrameReader(onFrame, (bytes) => (this.droppedBytes += bytes));
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      return;
    }
    const decoder = new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 28 }, (frame) => onFrame(frame.json, frame.binary));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  private handle(req: StepJson, binary: Buffer | null, socket: Socket): { json: StepJson; binary?: Buffer } | null {
    const ok = (json: StepJson, bin?: Buffer) => ({ json: { status: 200, status_msg: 'OK', ...json }, binary: bin });
    const fail = (status: number, status_msg: string) => ({ json: { status, status_msg } });
    const key = String(req.key);
    const upload = this.uploads.get(key);
    const grant = (asked: unknown) => (this.options.legacy || typeof asked !== 'number' ? 20480 : Math.min(Math.max(asked, 4096), 1 << 24));
    switch (req.operation) {
      case 'LOGIN':
        return ok({ token: 'fake-token' });
      case 'STATUS': {
        if (this.options.legacy) return fail(408, 'Operation STATUS is not allowed');
        if (!upload) return fail(404, `The key ${key} is not existing.`);
        const missing: number[][] = [];
        upload.received.forEach((got, i) => {
          if (got) return;
          const last = missing[missing.length - 1];
          if (last && last[1] === i - 1) last[1] = i;
          else missing.push([i, i]);
        });
        const fields = { key, size: upload.data.length, block_size: upload.blockSize, total_block: upload.received.length };
        const received_count = upload.received.reduce((a, b) => a + b, 0);
        const limit = this.options.statusRangeLimit ?? Infinity;
        const listed = { missing_ranges: missing.slice(0, limit), missing_ranges_truncated: missing.length > limit };
        return ok({
          ...fields,
          received_count,
          ...listed,
          complete: upload.complete,
          ...(upload.complete ? { md5: md5Hex(upload.data) } : {}),
        });
      }
      case 'SAVE': {
        if (upload?.complete) return fail(402, `This "key" ${key} is existing.`);
        const size = req.size as number;
        const blockSize = grant(req.block_size);
        this.uploads.set(key, {
          data: Buffer.alloc(size),
          blockSize,
          received: new Uint8Array(Math.ceil(size / blockSize)),
          complete: false,
        });
        return ok({ key, size, block_size: blockSize, total_block: Math.ceil(size / blockSize) });
      }
      case 'UPLOAD': {
        this.uploadRequests++;
        if (this.uploadRequests === this.options.dropOnUpload || (binary?.length ?? 0) > (this.options.maxBinaryBytes ?? Infinity)) {
          socket.destroy();
          return null;
        }
        if (!upload) return fail(408, `The "key" ${key} is not accepted for uploading.`);
        if (upload.complete) return fail(408, `The "key" ${key} is completely uploaded.`);
        const index = req.block_index as number;
        binary!.copy(upload.data, index * upload.blockSize);
        upload.received[index] = 1;
        upload.complete = upload.received.every((b) => b === 1);
        return ok({ key, block_index: index, ...(upload.complete ? { md5: md5Hex(upload.data) } : {}) });
      }
      case 'GET':
        if (!upload?.complete) return fail(404, `The key ${key} is not existing.`);
        return ok({
          key,
          size: upload.data.length,
          block_size: grant(req.block_size),
          total_block: Math.ceil(upload.data.length / grant(req.block_size)),
          md5: md5Hex(upload.data),
        });
      case 'DOWNLOAD': {
        if (!upload?.complete) return fail(404, `The key ${key} is not existing.`);
        const blockSize = grant(req.block_size);
        this.downloadSizes.push(blockSize);
        if (this.downloadSizes.length === this.options.dropOnDownload || blockSize > (this.options.maxBinaryBytes ?? Infinity)) {
          socket.destroy();
          return null;
        }
        const index = req.block_index as number;
        const block = Buffer.from(upload.data.subarray(index * blockSize, (index + 1) * blockSize));
        const blockMd5 = md5Hex(block);
        if (this.options.corruptDownloads) block[0] ^= 0xff;
        return ok({ key, block_index: index, size: block.length, block_md5: blockMd5 }, block);
      }
      default:
        return fail(408, `Operation ${String(req.operation)} is not allowed`);
    }
  }
}

/**
 * Frame reading as the reference server does it: every socket read is one `recv` whose bytes
 * past the end of the current frame are dropped. A client that waits for each reply never loses
 * a byte; one that pipelines loses the start of its next request and garbles what follows.
 */
class OverReadingFrameReader {
  private parts: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly onFrame: (json: StepJson | null, binary: Buffer | null) => void,
    private readonly onDropped: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.length += chunk.length;
    if (this.length < 8) return;
    const bytes = Buffer.concat(this.parts);
    const end = 8 + bytes.readUInt32BE(0) + bytes.readUInt32BE(4);
    // A garbled header asks for more than any request holds: the old server waits forever.
    if (this.length < end) return;
    this.parts = [];
    this.length = 0;
    if (bytes.length > end) this.onDropped(bytes.length - end);
    const jsonEnd = 8 + bytes.readUInt32BE(0);
    let json: StepJson | null;
    try {
      json = JSON.parse(bytes.subarray(8, jsonEnd).toString('utf8')) as StepJson;
    } catch {
      json = null;
    }
    this.onFrame(json, jsonEnd < end ? Buffer.from(bytes.subarray(jsonEnd, end)) : null);
  }
}
