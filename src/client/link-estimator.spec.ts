import { describe, expect, it } from 'vitest';
import { ADAPTIVE_MAX_BLOCK_SIZE, ADAPTIVE_START_BLOCK_SIZE, LinkEstimator, MIN_BLOCK_SIZE, MIN_IN_FLIGHT } from './link-estimator.js';

const KiB = 1024;

/** Feeds `seconds` of completions at `bytesPerSecond` in 10 ms steps of a fake clock. */
function measured(bytesPerSecond: number, seconds: number, rttMs: number): LinkEstimator {
  const clock = { t: 0 };
  const estimator = new LinkEstimator(4, ADAPTIVE_MAX_BLOCK_SIZE, () => clock.t);
  estimator.recordRtt(rttMs);
  for (let ms = 10; ms <= seconds * 1000; ms += 10) {
    clock.t = ms;
    estimator.recordBytes(bytesPerSecond / 100);
  }
  return estimator;
}

describe('LinkEstimator', () => {
  it('starts small and shallow before anything is measured', () => {
    const estimator = new LinkEstimator(4);
    expect(estimator.throughput()).toBeNull();
    expect(estimator.blockSize()).toBe(ADAPTIVE_START_BLOCK_SIZE);
    expect(estimator.inFlight(ADAPTIVE_START_BLOCK_SIZE)).toBe(MIN_IN_FLIGHT);
  });

  it('keeps 32 KiB blocks on 1 and 2 Mbit/s links', () => {
    expect(measured(125_000, 3, 20).blockSize()).toBe(32 * KiB);
    expect(measured(250_000, 3, 20).blockSize()).toBe(32 * KiB);
  });

  it('grows to 512 KiB at 20 Mbit/s and to the 4 MiB x 2 fast path on loopback', () => {
    const wan = measured(2_500_000, 3, 50);
    expect(wan.throughput()).toBeCloseTo(2_500_000, -4);
    expect(wan.blockSize()).toBe(512 * KiB);
    expect(wan.inFlight(512 * KiB)).toBe(2);
    const loopback = measured(500_000_000, 0.2, 0.1);
    expect(loopback.blockSize()).toBe(ADAPTIVE_MAX_BLOCK_SIZE);
    expect(loopback.inFlight(ADAPTIVE_MAX_BLOCK_SIZE)).toBe(2);
  });

  it('pipelines deeper when the round trip is long against the block time', () => {
    const far = measured(12_500_000, 3, 400);
    expect(far.blockSize()).toBe(2048 * KiB);
    expect(far.inFlight(far.blockSize())).toBe(3);
  });

  it('does not charge connection set-up before the first completion to the link', () => {
    const clock = { t: 0 };
    const estimator = new LinkEstimator(4, ADAPTIVE_MAX_BLOCK_SIZE, () => clock.t);
    clock.t = 500;
    for (let i = 0; i < 7; i++) {
      estimator.recordBytes(1e6);
      clock.t += 20;
    }
    expect(estimator.throughput()).toBeNull();
    estimator.recordBytes(1e6);
    expect(estimator.throughput()).toBeCloseTo(50e6, -5);
    expect(estimator.blockSize()).toBe(ADAPTIVE_MAX_BLOCK_SIZE);
  });

  it('halves the block cap after a network failure, down to the smallest block', () => {
    const estimator = measured(500_000_000, 0.2, 0.1);
    estimator.recordNetworkFailure(ADAPTIVE_MAX_BLOCK_SIZE);
    expect(estimator.blockSize()).toBe(ADAPTIVE_MAX_BLOCK_SIZE / 2);
    for (let i = 0; i < 20; i++) estimator.recordNetworkFailure(estimator.blockSize());
    expect(estimator.blockSize()).toBe(MIN_BLOCK_SIZE);
  });
});
