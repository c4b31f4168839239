import type { Socket } from 'node:net';
import type { ByteBudget } from './byte-budget.js';

/**
 * One connection's share of the server-wide budget for block replies not yet taken by the
 * kernel (STEP_MAX_PENDING_REPLY_BYTES). A DOWNLOAD reserves the largest block before its
 * handler reads anything, keeps what its reply really holds until the socket has written it,
 * and gives the rest back at once; a peer that never reads keeps its share until it is closed.
 */
export class ReplyCredits {
  private readonly outstanding = new Set<() => void>();
  private abortWait: (() => void) | null = null;

  constructor(private readonly budget: ByteBudget) {}

  /** Waits in line for `bytes`; resolves false (holding nothing) if the socket closes first. */
  reserve(bytes: number, socket: Socket): Promise<boolean> {
    if (socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let cancel: (() => void) | null = null;
      const abort = () => {
        this.abortWait = null;
        socket.off('close', abort);
        cancel?.();
        resolve(false);
      };
      this.abortWait = abort;
      socket.once('close', abort);
      cancel = this.budget.take(bytes, () => {
        this.abortWait = null;
        socket.off('close', abort);
        resolve(true);
      });
    });
  }

  /**
   * Keeps `used` of `reserved` bytes until the returned function runs (once the reply's block has
   * been written, or the connection closed), and gives back the rest now.
   */
  settle(reserved: number, used: number): () => void {
    if (reserved === 0) return () => undefined;
    const kept = Math.min(reserved, used);
    this.budget.give(reserved - kept);
    let held = true;
    const giveBack = () => {
      if (!held) return;
      held = false;
      this.outstanding.delete(giveBack);
      this.budget.give(kept);
    };
    this.outstanding.add(giveBack);
    return giveBack;
  }

  /** The connection closed: gives back every share it still holds and stops waiting. */
  giveBackAll(): void {
    this.abortWait?.();
    for (const giveBack of [...this.outstanding]) giveBack();
  }
}
