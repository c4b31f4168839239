/**
 * A shared allowance of bytes, taken and given back by many holders (every connection of a
 * server): a holder that cannot take what it asks for does without, so the total stays bounded.
 */
export class ByteBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Takes `bytes` if the allowance still has them; false (taking nothing) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  /** Bytes currently taken. */
  get inUse(): number {
    return this.used;
  }
}
