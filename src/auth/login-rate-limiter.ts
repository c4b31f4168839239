import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepStatus } from '../protocol/index.js';

const WINDOW_MS = 60_000;
/** Keys (addresses or user names) tracked at once per counter; a flood of new ones cannot grow a map past this. */
export const LOGIN_LIMITER_MAX_ADDRESSES = 10_000;

interface Window {
  startedAt: number;
  failures: number;
}

/** Failed attempts per key in fixed one-minute windows, holding at most LOGIN_LIMITER_MAX_ADDRESSES keys. */
class FailureWindows {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.windows.size;
  }

  /** Failures of `key` in its current window. */
  failures(key: string): number {
    const window = this.windows.get(key);
    return window && this.clock.now() - window.startedAt < WINDOW_MS ? window.failures : 0;
  }

  record(key: string): void {
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      this.windows.delete(key);
      this.makeRoom(now);
      window = { startedAt: now, failures: 0 };
      this.windows.set(key, window);
    }
    window.failures++;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < LOGIN_LIMITER_MAX_ADDRESSES) return;
    // Maps iterate in insertion order, so the oldest windows come first: drop the expired ones,
    // and if all are current, the oldest one (its key merely gets a fresh window).
    for (const [key, window] of this.windows) {
      if (now - window.startedAt < WINDOW_MS) break;
      this.windows.delete(key);
    }
    if (this.windows.size >= LOGIN_LIMITER_MAX_ADDRESSES) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }
}

/**
 * Throttles password guessing (docs/protocol.md limits) by counting *failed* LOGINs per remote address
 * and per user name in one-minute windows (STEP_LOGIN_ATTEMPTS_PER_MINUTE). Successful LOGINs
 * are not counted: a classroom behind one NAT address logs in hundreds of times a minute
 *, and only guessing produces failures. Per name as well as per address, so guesses
 * spread over many addresses still hit a wall.
 */
@Injectable()
export class LoginRateLimiter {
  private readonly byAddress: FailureWindows;
  private readonly byUser: FailureWindows;
  private readonly limit: number;

  constructor(@InjectStepConfig() config: StepConfig, clock: Clock) {
    this.limit = config.step.loginAttemptsPerMinute;
    this.byAddress = new FailureWindows(clock);
    this.byUser = new FailureWindows(clock);
  }

  /** Throws 429 when `address` or `username` already failed the limit this minute. */
  check(address: string, username: string): void {
    if (this.byAddress.failures(address) >= this.limit || this.byUser.failures(username) >= this.limit) {
      throw new StepError(StepStatus.TOO_MANY, 'Too many login attempts. Try again later.');
    }
  }

  /** Records one failed LOGIN (wrong password or unknown user). */
  recordFailure(address: string, username: string): void {
    this.byAddress.record(address);
    this.byUser.record(username);
  }

  /** Number of addresses currently tracked (for tests). */
  get trackedAddresses(): number {
    return this.byAddress.size;
  }
}
