import { describe, expect, it } from 'vitest';
import { ADAPTIVE_MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './link-estimator.js';
import { mayReplace, regrownBlockSize, shrunkBlockSize, type UploadPlan } from './upload-plan.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function plan(size: number, blockSize: number, replaceable = true): UploadPlan {
  const totalBlocks = Math.ceil(size / blockSize);
  return { size, blockSize, totalBlocks, present: new Uint8Array(totalBlocks), serverMd5: null, replaceable, mayRegrow: replaceable };
}

describe('upload plan replacement', () => {
  it('replaces a fresh plan while at most an eighth of the file (and 2 MiB) was acknowledged, however long that took', () => {
    expect(mayReplace(plan(8 * MiB, 32 * KiB), 0)).toBe(true);
    expect(mayReplace(plan(8 * MiB, 32 * KiB), MiB)).toBe(true);
    expect(mayReplace(plan(8 * MiB, 32 * KiB), MiB + 1)).toBe(false);
    expect(mayReplace(plan(1024 * MiB, 32 * KiB), 2 * MiB + 1)).toBe(false);
    // A resumed plan (or one the user forced) is never replaced: SAVE would throw its blocks away.
    expect(mayReplace(plan(8 * MiB, 32 * KiB, false), 0)).toBe(false);
  });

  it('regrows only for blocks at least 4 times larger, asking twice the measured size up to the largest', () => {
    expect(regrownBlockSize(plan(8 * MiB, 32 * KiB), 64 * KiB)).toBeNull();
    expect(regrownBlockSize(plan(8 * MiB, 32 * KiB), 128 * KiB)).toBe(256 * KiB);
    expect(regrownBlockSize(plan(8 * MiB, 32 * KiB), ADAPTIVE_MAX_BLOCK_SIZE)).toBe(ADAPTIVE_MAX_BLOCK_SIZE);
  });

  it('shrinks by halves after network failures, down to the smallest block', () => {
    expect(shrunkBlockSize(plan(8 * MiB, 32 * KiB))).toBe(16 * KiB);
    expect(shrunkBlockSize(plan(8 * MiB, 20480))).toBe(MIN_BLOCK_SIZE);
    expect(shrunkBlockSize(plan(8 * MiB, MIN_BLOCK_SIZE))).toBeNull();
  });
});
