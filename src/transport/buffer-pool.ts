/**
 * Reuses large block buffers. Allocating a fresh 4 MiB Buffer per block makes V8 account for
 * external memory on every block and run a full mark-compact every few dozen blocks (measured:
 * 22 of them, ~1 s, in a 256 MiB upload+download). Only buffers this pool handed out are taken
 * back, so releasing a view or a foreign buffer is a harmless no-op.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly owned = new WeakSet<Buffer>();
  private pooledBytes = 0;

  constructor(
    private readonly maxPooledBytes: number,
    private readonly minPooledSize: number,
  ) {}

  /** A buffer of exactly `size` bytes with undefined content. */
  acquire(size: number): Buffer {
    if (size < this.minPooledSize) return Buffer.allocUnsafe(size);
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    const fresh = Buffer.allocUnsafeSlow(size);
    this.owned.add(fresh);
    return fresh;
  }

  /** Gives a buffer back once nothing reads or writes it any more. */
  release(buffer: Buffer | null | undefined): void {
    if (!buffer || !this.owned.has(buffer) || this.pooledBytes + buffer.length > this.maxPooledBytes) return;
    let list = this.free.get(buffer.length);
    if (!list) {
      list = [];
      this.free.set(buffer.length, list);
    }
    if (list.includes(buffer)) return;
    list.push(buffer);
    this.pooledBytes += buffer.length;
  }
}

/** The process-wide pool for block payloads (request binary sections and DOWNLOAD replies). */
export const blockBufferPool = new BufferPool(64 * 1024 * 1024, 64 * 1024);
