/**
 * A trickle: more than TRICKLE_READS reads of under TINY_READ_BYTES within one frame (no honest
 * client sends a frame in dozens of tiny writes). Each read costs a few syscalls whatever its
 * size, so from then on reading pauses TRICKLE_PAUSE_MS after each, letting bytes batch up in
 * the kernel; the frame deadline still runs.
 */
const TINY_READ_BYTES = 256;
const TRICKLE_READS = 64;
const TRICKLE_PAUSE_MS = 10;

/** Spots a peer trickling a frame in tiny reads and spaces its reads out. */
export class TrickleDamper {
  private tinyReads = 0;
  private timer: NodeJS.Timeout | null = null;

  /** @param pauseOver called when a pause has ended (the owner resumes reading) */
  constructor(private readonly pauseOver: () => void) {}

  /** True while reading should stay paused. */
  get pausing(): boolean {
    return this.timer !== null;
  }

  /** A read of `bytes` arrived; `midFrame` when it left a frame unfinished. */
  read(bytes: number, midFrame: boolean): void {
    if (bytes >= TINY_READ_BYTES || !midFrame || ++this.tinyReads <= TRICKLE_READS || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pauseOver();
    }, TRICKLE_PAUSE_MS);
  }

  /** A frame completed: the count starts again. */
  frameDone(): void {
    this.tinyReads = 0;
  }

  /** The connection closed. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
