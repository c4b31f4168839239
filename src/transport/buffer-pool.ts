/**
 * Reuses large block buffers. Allocating a fresh 4 MiB Buffer per block makes V8 account for
 * external memory on every block and run a full mark-compact every few dozen blocks (measured:
 * 22 of them, ~1 s, in a 256 MiB upload+download). Buffers are reference-counted: whoever holds
 * one (the connection that read it, the prefix hasher that keeps it) releases it, and it is reused
 * only after the last release. Buffers the pool did not hand out are ignored.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly refs = new WeakMap<Buffer, number>();
  private pooledBytes = 0;

  constructor(
    private readonly maxPooledBytes: number,
    private readonly minPooledSize: number,
  ) {}

  /** A buffer of exactly `size` bytes with undefined content, held once by the caller. */
  acquire(size: number): Buffer {
    if (size < this.minPooledSize) return Buffer.allocUnsafe(size);
    const reused = this.free.get(size)?.pop();
    if (reused) this.pooledBytes -= size;
    const buffer = reused ?? Buffer.allocUnsafeSlow(size);
    this.refs.set(buffer, 1);
    return buffer;
  }

  /** One more holder of a pooled buffer (it must release too). */
  retain(buffer: Buffer): void {
    const count = this.refs.get(buffer);
    if (count) this.refs.set(buffer, count + 1);
  }

  /** One holder is done; after the last, the buffer may be handed out again. */
  release(buffer: Buffer | null | undefined): void {
    if (!buffer) return;
    const count = this.refs.get(buffer);
    if (!count) return;
    if (count > 1) {
      this.refs.set(buffer, count - 1);
      return;
    }
    this.refs.delete(buffer);
    if (this.pooledBytes + buffer.length > this.maxPooledBytes) return;
    let list = this.free.get(buffer.length);
    if (!list) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.pooledBytes += buffer.length;
  }
}

/**
 * The process-wide pool for block payloads (request binary sections and DOWNLOAD replies). It
 * must hold what one fast client cycles through (blocks in flight plus the prefix-hash window,
 * about 50 MiB for the step CLI's defaults): a buffer dropped for lack of room is garbage that
 * stays resident until a full GC, and its replacement is fresh memory, so a 24 MiB pool let a
 * 1 GiB upload allocate 79 new 4 MiB buffers and the peak RSS grow by as much.
 */
export const blockBufferPool = new BufferPool(64 * 1024 * 1024, 64 * 1024);
