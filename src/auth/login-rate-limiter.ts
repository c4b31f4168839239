import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepStatus } from '../transport/index.js';

const WINDOW_MS = 60_000;
/** Addresses tracked at once; a flood of new addresses cannot grow the map past this. */
export const LOGIN_LIMITER_MAX_ADDRESSES = 10_000;

interface Window {
  startedAt: number;
  attempts: number;
}

/**
 * Counts LOGIN attempts per remote address in fixed one-minute windows (STEP_LOGIN_ATTEMPTS_PER_MINUTE),
 * so password guessing from one address is throttled with 429 (spec B, limits).
 */
@Injectable()
export class LoginRateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly limit: number;

  constructor(
    @InjectStepConfig() config: StepConfig,
    private readonly clock: Clock,
  ) {
    this.limit = config.step.loginAttemptsPerMinute;
  }

  /** Records one attempt from `address`; throws 429 once the address is over its limit this minute. */
  consume(address: string): void {
    const now = this.clock.now();
    let window = this.windows.get(address);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      this.windows.delete(address);
      this.makeRoom(now);
      window = { startedAt: now, attempts: 0 };
      this.windows.set(address, window);
    }
    window.attempts++;
    if (window.attempts > this.limit) {
      throw new StepError(StepStatus.TOO_MANY, 'Too many login attempts. Try again later.');
    }
  }

  /** Number of addresses currently tracked (for tests). */
  get trackedAddresses(): number {
    return this.windows.size;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < LOGIN_LIMITER_MAX_ADDRESSES) return;
    // Maps iterate in insertion order, so the oldest windows come first: drop the expired ones,
    // and if all are current, the oldest one (its address merely gets a fresh window).
    for (const [address, window] of this.windows) {
      if (now - window.startedAt < WINDOW_MS) break;
      this.windows.delete(address);
    }
    if (this.windows.size >= LOGIN_LIMITER_MAX_ADDRESSES) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }
}
