import type { BlockAllocator, BlockLease } from '../protocol/index.js';
import type { BufferPool } from './buffer-pool.js';
import type { ByteBudget, CancelWait } from './byte-budget.js';

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
    private readonly pool: BufferPool,
    private readonly budget: ByteBudget,
  ) {}

  /** Sections that arrived whole in one read are held already: no budget, just a pooled buffer. */
  allocate(size: number): BlockLease {
    return this.lease(size, 0);
  }

  /** A buffer within the budget, or null (see waitFor). */
  reserve(size: number): BlockLease | null {
    if (this.prepaid === size) {
      this.prepaid = 0;
      return this.lease(size, size);
    }
    return this.budget.tryTake(size) ? this.lease(size, size) : null;
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

  private lease(size: number, budgeted: number): BlockLease {
    const buffer = this.pool.acquire(size);
    let held = true;
    return {
      buffer,
      release: () => {
        if (!held) return;
        held = false;
        this.pool.release(buffer);
        if (budgeted > 0) this.budget.give(budgeted);
      },
    };
  }
}
