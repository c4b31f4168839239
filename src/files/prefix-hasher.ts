import { createHash, type Hash } from 'node:crypto';
import type { BlockBufferPool } from '../common/block-buffer-pool.js';
import type { BlockLease } from '../protocol/index.js';

/**
 * MD5 of an upload's contiguous prefix, advanced as blocks arrive so completing the upload needs
 * no second pass over the file. Out-of-order blocks wait in a bounded window; blocks that did not
 * fit are read back from disk when the prefix reaches them.
 *
 * The block that extends the prefix is not hashed when it is offered but once the replies of
 * the moment are written (hashAfterReplies; a lease keeps its buffer meanwhile), so a lock-step
 * client (one block in flight) sends its next block while this one is hashed, instead of waiting
 * for the MD5 of every block. Everything that reads or changes the digest (another offer, a block
 * from disk, the digest) hashes it first, and it counts as hashed (`hashed`, `next`) from the
 * moment it is offered.
 */
export class PrefixHasher {
  private hash: Hash = createHash('md5');
  private hashedBlocks = 0;
  /** The next block of the prefix, offered and not hashed yet (see the class comment). */
  private deferred: BlockLease | null = null;
  /** The digest was taken: nothing more is offered to the hash (a deferred update would throw from its tick). */
  private digested = false;
  /** Blocks kept for later, each held by its own lease on the pool. */
  private readonly window = new Map<number, BlockLease>();
  private windowBytes = 0;
  private tainted = false;

  constructor(
    private readonly windowLimit: number,
    private readonly pool: BlockBufferPool,
  ) {}

  /** Blocks hashed so far (the prefix is blocks 0..hashed-1). */
  get hashed(): number {
    return this.deferred ? this.hashedBlocks + 1 : this.hashedBlocks;
  }

  /**
   * True once a block was written twice: the bytes hashed may not be the bytes on disk, so the
   * final digest must come from the file.
   */
  get isTainted(): boolean {
    return this.tainted;
  }

  /**
   * A newly received block; kept (a shared lease on its pooled buffer, not a copy) if it is not next
   * and the window has room, or is nearer to the prefix than the farthest block kept.
   */
  offer(index: number, block: Buffer): void {
    this.hashDeferred();
    if (this.tainted || this.digested || index < this.hashedBlocks) return;
    if (index === this.hashedBlocks && this.window.size === 0) {
      // Nothing waits behind it, so `next` stays exact while it is deferred.
      this.deferred = this.pool.share(block);
      return;
    }
    if (index === this.hashedBlocks) {
      this.hash.update(block);
      this.hashedBlocks++;
      this.drainWindow();
      return;
    }
    if (this.window.has(index) || block.length > this.windowLimit) return;
    // Keep the blocks the prefix needs soonest: those beyond get read back from disk, and a
    // window full of far blocks would make every nearer one take that slower path.
    while (this.windowBytes + block.length > this.windowLimit) {
      const farthest = this.farthestKept();
      if (farthest < index) return;
      const evicted = this.window.get(farthest)!;
      this.window.delete(farthest);
      this.windowBytes -= evicted.buffer.length;
      evicted.release();
    }
    this.window.set(index, this.pool.share(block));
    this.windowBytes += block.length;
  }

  /** Index of the next block the prefix needs, when it is not waiting in the window. */
  get next(): number {
    return this.hashed;
  }

  /** Hashes a block read back from disk (must be block `next`). */
  feedFromDisk(block: Buffer): void {
    this.hashDeferred();
    this.hash.update(block);
    this.hashedBlocks++;
    this.drainWindow();
  }

  /** Gives up on the incremental digest (see isTainted) and frees the window. */
  taint(): void {
    this.tainted = true;
    this.deferred?.release();
    this.deferred = null;
    for (const kept of this.window.values()) kept.release();
    this.window.clear();
    this.windowBytes = 0;
  }

  /** Hex digest; call once, after every block is hashed. */
  digest(): string {
    this.hashDeferred();
    this.digested = true;
    return this.hash.digest('hex');
  }

  /**
   * Hashes the deferred block, if any, once the promise continuations now queued have run. Called
   * from the continuation of a block's committed receipt, this is after the replies of every block
   * of that commit are written (they are continuations of it, without I/O in between), and before
   * the event loop reads anything more.
   */
  hashAfterReplies(): void {
    if (this.deferred) process.nextTick(this.hashDeferred);
  }

  /** Hashes the deferred block, if any (from its timer, or first thing before the digest moves on). */
  private readonly hashDeferred = (): void => {
    const deferred = this.deferred;
    if (!deferred) return;
    this.deferred = null;
    this.hash.update(deferred.buffer);
    deferred.release();
    this.hashedBlocks++;
  };

  /** The highest block index in the window (a loop: it may hold thousands of small blocks). */
  private farthestKept(): number {
    let farthest = -1;
    for (const kept of this.window.keys()) if (kept > farthest) farthest = kept;
    return farthest;
  }

  private drainWindow(): void {
    let kept = this.window.get(this.hashedBlocks);
    while (kept) {
      this.window.delete(this.hashedBlocks);
      this.windowBytes -= kept.buffer.length;
      this.hash.update(kept.buffer);
      kept.release();
      this.hashedBlocks++;
      kept = this.window.get(this.hashedBlocks);
    }
  }
}
