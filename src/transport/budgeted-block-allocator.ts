import type { BlockAllocator, BlockLease } from '../protocol/index.js';
import type { BlockBufferPool } from '../common/block-buffer-pool.js';
import type { ByteBudget, CancelWait } from './byte-budget.js';

/** A pooled buffer whose bytes also count against the budget until it is released. */
class BudgetedLease implements BlockLease {
  private held = true;

  constructor(
    private readonly block: BlockLease,
    private readonly budget: ByteBudget,
  ) {}

  get buffer(): Buffer {
    return this.block.buffer;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.block.release();
    this.budget.give(this.block.buffer.length);
  }
}

/**
 * One connection's block buffers: from the shared pool, and for sections still arriving, within
 * the server-wide budget (STEP_MAX_PREALLOCATED_BYTES) from the moment the section starts until
 * its frame's lease is released. Past the budget the connection waits (and stops reading)
 * instead of buffering: the budget is a hard cap on what peers can make the server hold.
 */
export class BudgetedBlockAllocator implements BlockAllocator {
  /** Bytes the budget granted to a wait, for the reserve() that follows it. */
  private prepaid = 0;
  private cancelWait: CancelWait | null = null;

  constructor(
    private readonly pool: BlockBufferPool,
    private readonly budget: ByteBudget,
  ) {}

  /** Sections that arrived whole in one read are held already: no budget, just a pooled buffer. */
  allocate(size: number): BlockLease {
    return this.pool.acquire(size);
  }

  /** A buffer within the budget, or null (see waitFor). */
  reserve(size: number): BlockLease | null {
    if (this.prepaid === size) {
      this.prepaid = 0;
      return new BudgetedLease(this.pool.acquire(size), this.budget);
    }
    return this.budget.tryTake(size) ? new BudgetedLease(this.pool.acquire(size), this.budget) : null;
  }

  /** Waits in line for `size` bytes of budget; `ready` runs once reserve(size) will succeed. */
  waitFor(size: number, ready: () => void): void {
    this.cancelWait = this.budget.take(size, () => {
      this.cancelWait = null;
      this.prepaid = size;
      ready();
    });
  }

  /** Gives back what a closed connection was granted or waited for and never used. */
  dispose(): void {
    this.cancelWait?.();
    this.cancelWait = null;
    if (this.prepaid > 0) this.budget.give(this.prepaid);
    this.prepaid = 0;
  }
}
