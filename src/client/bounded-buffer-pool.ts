/**
 * A bounded pool: at most `count` equally sized buffers, handed out and returned, so a transfer reads its blocks
 * without allocating per block (allocation dominates on small VMs). acquire() waits
 * while every buffer is out, which also bounds how far reading runs ahead of sending. Buffers are
 * created when first needed: a small file uses a few, not one per request that could be in flight
 * (many clients in one process, each allocating its whole pool up front, spend their time in GC).
 */
export class BoundedBufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buffer: Buffer) => void> = [];
  private created = 0;

  constructor(
    private readonly bufferBytes: number,
    private readonly count: number,
  ) {}

  /** Takes a buffer, waiting until one is returned when none is free. */
  acquire(): Promise<Buffer> {
    const buffer = this.tryAcquire();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes a buffer if one is free right now, without waiting. */
  tryAcquire(): Buffer | null {
    const buffer = this.free.pop();
    if (buffer) return buffer;
    if (this.created === this.count) return null;
    this.created++;
    return Buffer.allocUnsafe(this.bufferBytes);
  }

  /** Buffers created so far. */
  get allocated(): number {
    return this.created;
  }

  /** Gives a buffer back. */
  release(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(buffer);
    else this.free.push(buffer);
  }
}
