import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** One block read from the file, in a buffer lent by the reader's pool. */
export interface Block {
  index: number;
  offset: number;
  /** A view of the pooled buffer holding exactly this block's bytes. */
  data: Buffer;
  /** Returns the buffer to the pool once the block has been sent and acknowledged. */
  release(): void;
}

/**
 * Reads a file front to back into a fixed pool of reused buffers and hashes each block as it is
 * read, so the client needs no second pass for the MD5 and allocates nothing per block (on these
 * VMs allocation costs as much as hashing). At most `poolSize` blocks are out at once, which is
 * also the bound on blocks in flight.
 */
export class BlockReader {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buf: Buffer) => void> = [];
  private readonly hash: Hash = createHash('md5');
  private nextIndex = 0;
  private reading: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly blockSize: number,
    poolSize: number,
  ) {
    for (let i = 0; i < poolSize; i++) this.free.push(Buffer.allocUnsafe(blockSize));
  }

  /** Opens a file for reading in blocks of `blockSize` with `poolSize` buffers. */
  static async open(path: string, blockSize: number, poolSize: number): Promise<BlockReader> {
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return new BlockReader(handle, size, blockSize, poolSize);
  }

  /** Number of blocks in the file. */
  get totalBlocks(): number {
    return Math.ceil(this.size / this.blockSize);
  }

  /**
   * The next block, or null at the end. Waits for a free buffer; calls are serialised so blocks
   * are read and hashed strictly in order.
   */
  next(): Promise<Block | null> {
    const result = this.reading.then(() => this.readNext());
    this.reading = result.catch(() => undefined);
    return result;
  }

  /** Lower-case hex MD5 of everything read (call after the last block). */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }

  private async readNext(): Promise<Block | null> {
    const index = this.nextIndex;
    const offset = index * this.blockSize;
    if (offset >= this.size) return null;
    this.nextIndex++;
    const buffer = await this.takeBuffer();
    const length = Math.min(this.blockSize, this.size - offset);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new Error(`file shrank while reading at ${offset + filled}`);
      filled += bytesRead;
    }
    const data = buffer.subarray(0, length);
    this.hash.update(data);
    let released = false;
    return {
      index,
      offset,
      data,
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(buffer);
      },
    };
  }

  private takeBuffer(): Promise<Buffer> {
    const buf = this.free.pop();
    if (buf) return Promise.resolve(buf);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private giveBack(buf: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(buf);
    else this.free.push(buf);
  }
}

/** MD5 of a whole file, read with one reused buffer (for checking what a server stored). */
export async function md5OfFile(path: string, bufferSize = 4 * 1024 * 1024): Promise<string> {
  const reader = await BlockReader.open(path, bufferSize, 1);
  try {
    for (let block = await reader.next(); block; block = await reader.next()) block.release();
    return reader.digest();
  } finally {
    await reader.close();
  }
}
