/**
 * The baseline server, run as its own process like stepd: receives blocks over any number of
 * connections, writes them with positional writes, and hashes the contiguous prefix of the file
 * while blocks arrive, holding only the out-of-order blocks (bounded by the client's window).
 * Prints "BASELINE listening on 127.0.0.1:PORT". Data dir: argv[2].
 */
import { createHash, type Hash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { BaselineKind, encodeBaselineReply, REQUEST_HEADER_BYTES } from './baseline.protocol.js';

interface Transfer {
  handle: FileHandle;
  size: number;
  hash: Hash;
  hashed: number;
  /** Written blocks past the hashed prefix, by offset. */
  waiting: Map<number, Buffer>;
}

const transfers = new Map<number, Transfer>();
const dataDir = process.argv[2];
/** Block buffers that were written and hashed, kept for reuse: fresh 4 MiB buffers cost page faults. */
const spare: Buffer[] = [];
const MAX_SPARE = 16;
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

function takeBuffer(length: number): Buffer {
  const buf = spare.pop();
  return buf && buf.length === length ? buf : Buffer.allocUnsafe(length);
}

/** Buffers either written or hashed, not yet both: whichever finishes second frees the buffer. */
const halfDone = new Set<Buffer>();

function oneSideDone(buf: Buffer): void {
  if (!halfDone.delete(buf)) halfDone.add(buf);
  else if (spare.length < MAX_SPARE) spare.push(buf);
}

async function openTransfer(id: number, size: number): Promise<void> {
  const handle = await open(join(dataDir, `baseline-${id}`), 'w+');
  await handle.truncate(size);
  transfers.set(id, { handle, size, hash: createHash('md5'), hashed: 0, waiting: new Map() });
}

async function storeBlock(id: number, offset: number, data: Buffer): Promise<void> {
  const transfer = transfers.get(id);
  if (!transfer) throw new Error(`unknown transfer ${id}`);
  // Hash the prefix on the main thread while a large write runs in the thread pool. A small
  // write is done in place: a page-cache copy of 20 KiB costs far less than a thread-pool round
  // trip, which matters with one block in flight.
  const written =
    data.length <= SYNC_WRITE_MAX_BYTES
      ? Promise.resolve(writeSync(transfer.handle.fd, data, 0, data.length, offset))
      : transfer.handle.write(data, 0, data.length, offset);
  transfer.waiting.set(offset, data);
  for (let next = transfer.waiting.get(transfer.hashed); next; next = transfer.waiting.get(transfer.hashed)) {
    transfer.waiting.delete(transfer.hashed);
    transfer.hash.update(next);
    transfer.hashed += next.length;
    oneSideDone(next);
  }
  await written;
  oneSideDone(data);
}

async function finishTransfer(id: number): Promise<string> {
  const transfer = transfers.get(id);
  if (!transfer) throw new Error(`unknown transfer ${id}`);
  if (transfer.hashed !== transfer.size) throw new Error(`only ${transfer.hashed} of ${transfer.size} bytes arrived`);
  await transfer.handle.sync();
  await transfer.handle.close();
  transfers.delete(id);
  return transfer.hash.digest('hex');
}

/** Parses requests from one connection and answers them in order. */
function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  let header: { kind: number; id: number; offset: number; length: number } | null = null;
  let body: Buffer | null = null;
  let filled = 0;
  let replies: Promise<unknown> = Promise.resolve();
  const handle = (work: Promise<string>) => {
    const reply = work.then(
      (text) => encodeBaselineReply(0, text),
      (err: Error) => encodeBaselineReply(1, err.message),
    );
    replies = replies.then(() => reply).then((bytes) => socket.write(bytes));
  };
  socket.on('data', (chunk: Buffer) => {
    let input = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (input.length > 0) {
      if (!header) {
        if (input.length < REQUEST_HEADER_BYTES) break;
        header = {
          kind: input.readUInt32BE(0),
          id: input.readUInt32BE(4),
          offset: Number(input.readBigUInt64BE(8)),
          length: input.readUInt32BE(16),
        };
        input = input.subarray(REQUEST_HEADER_BYTES);
        body = header.length > 0 ? takeBuffer(header.length) : null;
        filled = 0;
      }
      if (body) {
        const n = input.copy(body, filled);
        filled += n;
        input = input.subarray(n);
        if (filled < body.length) break;
      }
      const { kind, id, offset } = header;
      if (kind === BaselineKind.Open) handle(openTransfer(id, offset).then(() => ''));
      else if (kind === BaselineKind.Block) handle(storeBlock(id, offset, body!).then(() => ''));
      else if (kind === BaselineKind.Finish) handle(finishTransfer(id));
      else handle(Promise.reject(new Error(`unknown kind ${kind}`)));
      header = null;
      body = null;
    }
    if (input.length > 0) pending = Buffer.from(input);
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`BASELINE listening on 127.0.0.1:${address.port}`);
});
process.once('SIGTERM', () => process.exit(0));
