import { describe, expect, it } from 'vitest';
import type { Clock } from '../common/clock.js';
import type { StepConfig } from '../config/step.config.js';
import { StepError } from '../protocol/index.js';
import { LOGIN_LIMITER_MAX_ADDRESSES, LoginRateLimiter } from './login-rate-limiter.js';

function limiter(perMinute: number): { limiter: LoginRateLimiter; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  const config = { step: { loginAttemptsPerMinute: perMinute } } as StepConfig;
  return { limiter: new LoginRateLimiter(config, { now: () => clock.t } as Clock), clock };
}

function statusOf(fn: () => void): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as StepError).status;
  }
}

describe('LoginRateLimiter', () => {
  it('allows the configured failures per minute, then answers 429 until the window ends', () => {
    const { limiter: l, clock } = limiter(3);
    for (let i = 0; i < 3; i++) {
      expect(statusOf(() => l.check('10.0.0.1', 'bob'))).toBeNull();
      l.recordFailure('10.0.0.1', `user${i}`);
    }
    expect(statusOf(() => l.check('10.0.0.1', 'bob'))).toBe(429);
    expect(() => l.check('10.0.0.1', 'bob')).toThrow('Too many login attempts. Try again later.');
    clock.t += 59_999;
    expect(statusOf(() => l.check('10.0.0.1', 'bob'))).toBe(429);
    clock.t += 1;
    expect(statusOf(() => l.check('10.0.0.1', 'bob'))).toBeNull();
  });

  it('never counts checks alone: only recorded failures use up the limit', () => {
    const { limiter: l } = limiter(1);
    for (let i = 0; i < 50; i++) expect(statusOf(() => l.check('10.0.0.1', 'bob'))).toBeNull();
  });

  it('counts each address and each user name separately', () => {
    const { limiter: l } = limiter(1);
    l.recordFailure('10.0.0.1', 'bob');
    expect(statusOf(() => l.check('10.0.0.1', 'carol'))).toBe(429);
    expect(statusOf(() => l.check('10.0.0.2', 'bob'))).toBe(429);
    expect(statusOf(() => l.check('10.0.0.2', 'carol'))).toBeNull();
  });

  it('never tracks more than its bound of addresses', () => {
    const { limiter: l, clock } = limiter(5);
    for (let i = 0; i < LOGIN_LIMITER_MAX_ADDRESSES + 500; i++) l.recordFailure(`a${i}`, 'u');
    expect(l.trackedAddresses).toBe(LOGIN_LIMITER_MAX_ADDRESSES);
    clock.t += 60_000;
    l.recordFailure('late', 'u');
    // Expired windows are dropped first when room is needed.
    expect(l.trackedAddresses).toBe(1);
    expect(statusOf(() => l.check('late', 'v'))).toBeNull();
  });
});
