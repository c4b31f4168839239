/**
 * The deadlines of one incoming frame: it dies when its bytes stop arriving for `noProgressMs`
 * (a stalled peer; a slow link that keeps moving bytes is not), or when it is still incomplete
 * after `maxMs` however steadily it trickles in (slowloris). One timer per connection, not one per
 * frame or per read: clearing only disarms it, and when it fires it checks how long ago bytes
 * came and whether a frame is under way at all, and sleeps again if need be. A peer whose frames
 * arrive in pieces (old clients send header, JSON and block apart) so costs no timer per frame.
 */
export class FrameDeadline {
  private timer: NodeJS.Timeout | null = null;
  /** A frame is under way and its clock runs (the timer may be pending from an earlier frame). */
  private armed = false;
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
    if (this.armed) return;
    this.armed = true;
    this.startedAt = performance.now();
    this.lastProgressAt = this.startedAt;
    // A timer still pending from an earlier frame fires early at worst: it then sleeps again for what is left.
    if (!this.timer) this.schedule(Math.min(this.noProgressMs, this.maxMs));
  }

  /** The frame is complete, or waits on the server rather than on the peer: no deadline runs. */
  clear(): void {
    this.armed = false;
  }

  /** The connection is gone: the timer is cancelled, not just disarmed. */
  dispose(): void {
    this.armed = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(this.check, delayMs);
    this.timer.unref();
  }

  private checkProgress(): void {
    this.timer = null;
    if (!this.armed) return;
    const now = performance.now();
    const stalledFor = this.noProgressMs - (now - this.lastProgressAt);
    const capLeft = this.maxMs - (now - this.startedAt);
    if (stalledFor > 0 && capLeft > 0) return this.schedule(Math.min(stalledFor, capLeft));
    this.armed = false;
    this.expired(capLeft <= 0 ? `incomplete after ${this.maxMs} ms` : `no bytes for ${this.noProgressMs} ms`);
  }
}
