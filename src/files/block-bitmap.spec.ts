import { describe, expect, it } from 'vitest';
import { BITMAP_CHUNK_BITS, BlockBitmap } from './block-bitmap.js';

describe('BlockBitmap', () => {
  it('counts blocks once and lists missing ranges', () => {
    const bitmap = new BlockBitmap(10);
    expect(bitmap.missingRanges(100)).toEqual([[0, 9]]);
    expect(bitmap.set(3)).toBe(true);
    expect(bitmap.set(3)).toBe(false);
    bitmap.set(4);
    bitmap.set(9);
    expect(bitmap.count).toBe(3);
    expect(bitmap.missingRanges(100)).toEqual([[0, 2], [5, 8]]);
    expect(bitmap.missingRanges(1)).toEqual([[0, 2]]);
  });

  it('round-trips through its dirty chunks', () => {
    const total = BITMAP_CHUNK_BITS * 2 + 5;
    const bitmap = new BlockBitmap(total);
    bitmap.set(1);
    bitmap.set(total - 1);
    const chunks = bitmap.takeDirtyChunks().map((c) => ({ chunk: c.chunk, bits: Buffer.from(c.bits) }));
    expect(chunks.map((c) => c.chunk).sort()).toEqual([0, 2]);
    expect(bitmap.takeDirtyChunks()).toEqual([]);
    const restored = BlockBitmap.fromChunks(total, chunks);
    expect(restored.count).toBe(2);
    expect(restored.has(1) && restored.has(total - 1)).toBe(true);
    expect(restored.has(2)).toBe(false);
    expect(restored.complete).toBe(false);
  });
});
