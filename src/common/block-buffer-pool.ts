import type { BlockLease } from '../protocol/index.js';

/**
 * What the pool keeps for reuse at most. It must hold what one fast client cycles through
 * (blocks in flight plus an upload's prefix-hash window): a buffer dropped for lack of room is
 * garbage that stays resident until a full GC, and its replacement is fresh memory. It is not
 * raised for many uploads at once: 256 MiB halved their full GCs again but kept 100-180 MiB more
 * resident, for no throughput measured.
 */
export const BLOCK_POOL_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Smaller buffers are plain allocations: Node's own 8 KiB slab serves those under 4 KiB. Above
 * that, Buffer.allocUnsafe is a fresh ArrayBuffer each time, so the 20480-byte blocks of
 * lock-step clients are pooled too (they were fresh allocations: malloc, page faults and GC on
 * every block).
 */
export const BLOCK_POOL_MIN_SIZE = 4 * 1024;

/** The pool's bookkeeping, reachable only through leases (and the pool that hands them out). */
class BufferShelf {
  private readonly free = new Map<number, Buffer[]>();
  /** Leases still held, per pooled buffer handed out. */
  private readonly holds = new WeakMap<Buffer, number>();
  private pooledBytes = 0;

  constructor(private readonly maxPooledBytes: number) {}

  take(size: number): Buffer {
    const list = this.free.get(size);
    let reused: Buffer | undefined;
    if (list) {
      reused = list.pop();
      // The sizes asked for last go to the end: eviction (see drop) starts with the others.
      this.free.delete(size);
      this.free.set(size, list);
    }
    if (reused) this.pooledBytes -= size;
    const buffer = reused ?? Buffer.allocUnsafeSlow(size);
    this.holds.set(buffer, 1);
    return buffer;
  }

  /** One hold more on a buffer handed out; false for a buffer the shelf does not manage. */
  hold(buffer: Buffer): boolean {
    const count = this.holds.get(buffer);
    if (!count) return false;
    this.holds.set(buffer, count + 1);
    return true;
  }

  /** One hold fewer; after the last, the buffer may be handed out again. */
  drop(buffer: Buffer): void {
    const count = this.holds.get(buffer)!;
    if (count > 1) {
      this.holds.set(buffer, count - 1);
      return;
    }
    this.holds.delete(buffer);
    if (this.pooledBytes + buffer.length > this.maxPooledBytes) this.evictOtherSizes(buffer.length);
    if (this.pooledBytes + buffer.length > this.maxPooledBytes) return;
    let list = this.free.get(buffer.length);
    if (!list) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.pooledBytes += buffer.length;
  }

  /**
   * Makes room for a buffer of `size` by dropping free buffers of other sizes, those asked for
   * longest ago first: clients change their block size (the adaptive client does, and the last
   * block of a file is shorter), and a pool full of sizes nobody asks for any more would turn
   * every block of the sizes in use into a fresh allocation.
   */
  private evictOtherSizes(size: number): void {
    for (const [other, list] of this.free) {
      if (other === size) continue;
      while (list.length > 0 && this.pooledBytes + size > this.maxPooledBytes) {
        list.pop();
        this.pooledBytes -= other;
      }
      if (list.length === 0) this.free.delete(other);
      if (this.pooledBytes + size <= this.maxPooledBytes) return;
    }
  }
}

/**
 * One hold on a pooled buffer. Idempotent: a second release() does nothing, so a holder can
 * never give back a hold that another one still has.
 */
class PooledLease implements BlockLease {
  private held = true;

  constructor(
    private readonly shelf: BufferShelf,
    readonly buffer: Buffer,
  ) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.shelf.drop(this.buffer);
  }
}

/** The lease of a buffer the pool does not manage: the garbage collector frees it. */
const unpooled = (buffer: Buffer): BlockLease => ({ buffer, release: () => undefined });

/**
 * Reuses large block buffers (request binary sections, DOWNLOAD replies, read-back blocks).
 * Allocating a fresh multi-MiB Buffer per block makes V8 account for external memory on every
 * block and run full mark-compacts. Every hold on a buffer is a BlockLease: acquire() hands out
 * the first, share() another one for a second holder (the prefix hasher keeping a connection's
 * block), and a buffer is reused only once every lease on it is released. Releasing its leases
 * is the only way a buffer goes back into the pool. One per app, provided by CommonModule.
 */
export class BlockBufferPool {
  private readonly shelf: BufferShelf;

  constructor(
    maxPooledBytes = BLOCK_POOL_MAX_BYTES,
    private readonly minPooledSize = BLOCK_POOL_MIN_SIZE,
  ) {
    this.shelf = new BufferShelf(maxPooledBytes);
  }

  /** A buffer of exactly `size` bytes with undefined content, held by the returned lease. */
  acquire(size: number): BlockLease {
    if (size < this.minPooledSize) return unpooled(Buffer.allocUnsafe(size));
    return new PooledLease(this.shelf, this.shelf.take(size));
  }

  /**
   * Another hold on `buffer`, which someone else leased (or which is not pooled at all: its lease
   * then keeps nothing from anyone). The buffer is not reused before this lease is released too.
   */
  share(buffer: Buffer): BlockLease {
    return this.shelf.hold(buffer) ? new PooledLease(this.shelf, buffer) : unpooled(buffer);
  }
}
