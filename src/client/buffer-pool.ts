/**
 * A fixed set of equally sized buffers handed out and returned, so a transfer reads its blocks
 * without allocating per block (allocation dominates on small VMs, see issue 5). acquire() waits
 * while every buffer is out, which also bounds how far reading runs ahead of sending.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buffer: Buffer) => void> = [];

  constructor(bufferBytes: number, count: number) {
    for (let i = 0; i < count; i++) this.free.push(Buffer.allocUnsafe(bufferBytes));
  }

  /** Takes a buffer, waiting until one is returned when none is free. */
  acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes a buffer if one is free right now, without waiting. */
  tryAcquire(): Buffer | null {
    return this.free.pop() ?? null;
  }

  /** Gives a buffer back. */
  release(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(buffer);
    else this.free.push(buffer);
  }
}
