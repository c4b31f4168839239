import { describe, expect, it } from 'vitest';
import { BITMAP_CHUNK_BITS, BlockBitmap, NEW_BLOCKS_LIMIT } from './block-bitmap.js';

describe('BlockBitmap', () => {
  it('counts blocks once and lists missing ranges', () => {
    const bitmap = new BlockBitmap(10);
    expect(bitmap.missingRanges(100)).toEqual([[0, 9]]);
    expect(bitmap.set(3)).toBe(true);
    expect(bitmap.set(3)).toBe(false);
    bitmap.set(4);
    bitmap.set(9);
    expect(bitmap.count).toBe(3);
    expect(bitmap.missingRanges(100)).toEqual([
      [0, 2],
      [5, 8],
    ]);
    expect(bitmap.missingRanges(1)).toEqual([[0, 2]]);
  });

  it('lists the same ranges and count as a bit-by-bit walk, whatever the pattern', () => {
    const naive = (bitmap: BlockBitmap, limit: number) => {
      const ranges: Array<[number, number]> = [];
      let start = -1;
      for (let i = 0; i <= bitmap.total && ranges.length < limit; i++) {
        const missing = i < bitmap.total && !bitmap.has(i);
        if (missing && start < 0) start = i;
        if (!missing && start >= 0) {
          ranges.push([start, i - 1]);
          start = -1;
        }
      }
      return ranges;
    };
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (const total of [1, 7, 8, 9, 64, 1000, 40_000, 300_003]) {
      for (const density of [0, 0.001, 0.5, 0.999, 1]) {
        const bitmap = new BlockBitmap(total);
        // Runs as well as scattered bits, so whole pages of set and clear bits occur.
        let on = random() < density;
        for (let i = 0; i < total; i++) {
          if (random() < 0.0005) on = !on;
          if (on ? random() < Math.max(density, 0.999) : random() < density) bitmap.set(i);
        }
        for (const limit of [1, 3, 10_000])
          expect(bitmap.missingRanges(limit), `${total}/${density}/${limit}`).toEqual(naive(bitmap, limit));
        const restored = BlockBitmap.fromChunks(
          total,
          bitmap.takeDirtyChunks().map((c) => ({ chunk: c.chunk, bits: Buffer.from(c.bits) })),
        );
        expect(restored.count).toBe(bitmap.count);
        expect(restored.missingRanges(10_000)).toEqual(bitmap.missingRanges(10_000));
      }
    }
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

  it('names the blocks set since the last take, until too many pile up or a persist fails', () => {
    const bitmap = new BlockBitmap(NEW_BLOCKS_LIMIT * 3);
    expect(bitmap.takeNewBlocks()).toEqual([]);
    bitmap.set(5);
    bitmap.set(5);
    bitmap.set(2);
    expect(bitmap.takeNewBlocks()).toEqual([5, 2]);
    expect(bitmap.takeNewBlocks()).toEqual([]);
    // Blocks learnt from other instances are stored already: not new.
    const other = new BlockBitmap(NEW_BLOCKS_LIMIT * 3);
    other.set(7);
    bitmap.merge(other);
    expect(bitmap.takeNewBlocks()).toEqual([]);

    for (let i = 10; i < 10 + NEW_BLOCKS_LIMIT; i++) bitmap.set(i);
    expect(bitmap.takeNewBlocks()).toHaveLength(NEW_BLOCKS_LIMIT);
    for (let i = 10 + NEW_BLOCKS_LIMIT; i < 11 + 2 * NEW_BLOCKS_LIMIT; i++) bitmap.set(i);
    expect(bitmap.takeNewBlocks()).toBeNull();
    bitmap.set(8);
    bitmap.markAllDirty();
    expect(bitmap.takeNewBlocks()).toBeNull();
    expect(bitmap.takeNewBlocks()).toEqual([]);
  });
});
