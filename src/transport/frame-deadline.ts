/**
 * The deadlines of one incoming frame: it dies when its bytes stop arriving for `noProgressMs`
 * (a stalled peer; a slow link that keeps moving bytes is not), or when it is still incomplete
 * after `maxMs` however steadily it trickles in (slowloris). One timer per frame, not one per
 * read: when it fires it checks how long ago bytes came, and sleeps again if they did.
 */
export class FrameDeadline {
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private lastProgressAt = 0;
  private readonly check = () => this.checkProgress();

  /** @param expired called once a frame missed a deadline, with why (the owner closes the connection) */
  constructor(
    private readonly noProgressMs: number,
    private readonly maxMs: number,
    private readonly expired: (why: string) => void,
  ) {}

  /** Bytes of the frame arrived. */
  progress(): void {
    this.lastProgressAt = performance.now();
  }

  /** A frame is under way and being read: starts its clock, unless it runs already. */
  arm(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.lastProgressAt = this.startedAt;
    this.schedule(Math.min(this.noProgressMs, this.maxMs));
  }

  /** The frame is complete, or waits on the server rather than on the peer: no deadline runs. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(this.check, delayMs);
    this.timer.unref();
  }

  private checkProgress(): void {
    const now = performance.now();
    const stalledFor = this.noProgressMs - (now - this.lastProgressAt);
    const capLeft = this.maxMs - (now - this.startedAt);
    if (stalledFor > 0 && capLeft > 0) return this.schedule(Math.min(stalledFor, capLeft));
    this.timer = null;
    this.expired(capLeft <= 0 ? `incomplete after ${this.maxMs} ms` : `no bytes for ${this.noProgressMs} ms`);
  }
}
