import type { StepPeer } from './step.context.js';

/**
 * How long a token the auth guard accepted on a connection lets that connection's next binary
 * sections in without asking the token service again. Short, so that a revoked token stops
 * getting blocks read within about a second; the guard itself still checks every request.
 */
export const ADMISSION_MEMO_MS = 1000;

interface Admission {
  token: string;
  at: number;
}

/**
 * Per connection, the token whose session the auth guard last accepted there, and when. A
 * lock-step uploader sends the same token with every block: admitting its next block from this
 * memo, synchronously, lets the decoder read the block straight into its buffer in the same
 * turn, instead of holding a copy while a promise settles. This only decides whether a binary
 * section may be read (docs/protocol.md §1); what the request may do is decided by the guard.
 */
export class TokenAdmissions {
  private readonly byPeer = new WeakMap<StepPeer, Admission>();

  constructor(
    private readonly ttlMs = ADMISSION_MEMO_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `token` was accepted on this connection less than the memo's lifetime ago. */
  admits(peer: StepPeer, token: unknown): boolean {
    const admission = this.byPeer.get(peer);
    return admission !== undefined && admission.token === token && this.now() - admission.at < this.ttlMs;
  }

  /** The guard accepted `token` for a request of this connection. */
  accepted(peer: StepPeer, token: unknown): void {
    if (typeof token !== 'string') return;
    const admission = this.byPeer.get(peer);
    if (admission) {
      admission.token = token;
      admission.at = this.now();
    } else {
      this.byPeer.set(peer, { token, at: this.now() });
    }
  }

  /** A request of this connection was refused its token, or logged it out: nothing is admitted from memory. */
  forget(peer: StepPeer): void {
    this.byPeer.delete(peer);
  }
}
