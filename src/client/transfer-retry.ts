import { setTimeout as sleep } from 'node:timers/promises';
import { StepStatus } from '../protocol/index.js';
import { StepStatusError } from './step-client.js';
import { StepConnectionError } from './step-client.connection.js';

/** How failed block requests are retried. */
export interface RetryPolicy {
  /** Attempts per block, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up once no block succeeded for this long (from --timeout). */
  stallMs: number;
}

/** Defaults: 12 attempts, 100 ms doubling to 4 s (about 30 s of waiting, enough for a server restart). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 12, baseDelayMs: 100, maxDelayMs: 4000, stallMs: 60_000 };

/** A block arrived damaged (wrong length or block_md5); fetching it again may help. */
export class BlockIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockIntegrityError';
  }
}

/** Statuses that say "later" rather than "never": too many, internal error, unavailable. */
const TRANSIENT_STATUSES = new Set<number>([StepStatus.TOO_MANY, StepStatus.INTERNAL, StepStatus.UNAVAILABLE]);

/** True for failures a retry can fix: a dead connection, a transient server status, a damaged block. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof StepConnectionError || err instanceof BlockIntegrityError) return true;
  return err instanceof StepStatusError && TRANSIENT_STATUSES.has(err.status);
}

/** Exponential backoff with a little jitter so lanes that failed together do not retry together. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.75 + Math.random() * 0.5));
}

/** Tracks when the transfer last made progress, shared by every lane. */
export class ProgressClock {
  private last = Date.now();

  /** Records progress now. */
  touch(): void {
    this.last = Date.now();
  }

  /** Milliseconds since the last progress. */
  stalledMs(): number {
    return Date.now() - this.last;
  }
}

/**
 * The error a transfer gives up with; a network failure says what to try, since on a slow or
 * flaky link the fix is usually an option.
 */
export function withGiveUpHint(err: unknown): unknown {
  if (!(err instanceof StepConnectionError) || !LINK_FAILURES.has(err.code ?? '')) return err;
  const hint =
    'The link may be slow or unstable: try a longer --timeout (e.g. 120), fewer --connections (e.g. 1) or a smaller --block-size (e.g. 65536).';
  return new StepConnectionError(`${err.message}. ${hint}`, err.code);
}

/** Codes of a connection that timed out or broke mid-transfer (not a refused or unreachable server). */
const LINK_FAILURES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Runs `attempt` until it succeeds, retrying retryable failures with backoff; gives up after
 * `policy.attempts` tries or once the whole transfer has stalled for `policy.stallMs`.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  clock: ProgressClock,
  attempt: (n: number) => Promise<T>,
  onRetry?: (err: unknown) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isRetryable(err) || n >= policy.attempts || clock.stalledMs() > policy.stallMs) throw err;
      onRetry?.(err);
      await sleep(backoffDelay(n, policy));
    }
  }
}
