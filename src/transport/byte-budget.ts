/** A wait for budget, cancellable (the waiting connection closed). */
export type CancelWait = () => void;

interface Waiter {
  bytes: number;
  granted: () => void;
}

/**
 * A shared allowance of bytes, taken and given back by many holders (every connection of a
 * server), so that their total stays bounded. Holders that cannot take what they ask for wait
 * in line (first come, first served: a large request is not starved by small ones). A request
 * larger than the whole allowance is granted when nothing else is taken, so it still progresses.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly limit: number) {}

  /** Takes `bytes` if the allowance has them and nobody waits; false (taking nothing) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /**
   * Takes `bytes` now or once enough is given back, in line with other waiters; `granted` runs
   * when they are taken (synchronously if at once). The returned function cancels a wait.
   */
  take(bytes: number, granted: () => void): CancelWait {
    if (this.tryTake(bytes)) {
      granted();
      return () => undefined;
    }
    const waiter: Waiter = { bytes, granted };
    this.waiters.push(waiter);
    return () => {
      const at = this.waiters.indexOf(waiter);
      if (at < 0) return;
      this.waiters.splice(at, 1);
      // The head of the line may have been what kept later, smaller waiters out.
      if (at === 0) this.wake();
    };
  }

  /** Gives back bytes taken earlier, and serves waiters that now fit. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.wake();
  }

  /** Bytes currently taken. */
  get inUse(): number {
    return this.used;
  }

  /** Holders waiting for bytes. */
  get waiting(): number {
    return this.waiters.length;
  }

  private fits(bytes: number): boolean {
    return this.used + bytes <= this.limit || this.used === 0;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const waiter = this.waiters.shift()!;
      this.used += waiter.bytes;
      waiter.granted();
    }
  }
}
