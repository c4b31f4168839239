import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PrefixHasher } from './prefix-hasher.js';

describe('PrefixHasher', () => {
  const blocks = Array.from({ length: 8 }, () => randomBytes(100));
  const expected = createHash('md5').update(Buffer.concat(blocks)).digest('hex');

  it('hashes blocks that arrive out of order through its window', () => {
    const hasher = new PrefixHasher(10_000);
    for (const i of [3, 1, 0, 2, 7, 5, 4, 6]) hasher.offer(i, blocks[i]);
    expect(hasher.hashed).toBe(8);
    expect(hasher.digest()).toBe(expected);
  });

  it('leaves blocks that do not fit the window for a read from disk', () => {
    const hasher = new PrefixHasher(200);
    for (const i of [1, 2, 3]) hasher.offer(i, blocks[i]);
    hasher.offer(0, blocks[0]); // drains 0, 1, 2; block 3 did not fit
    expect(hasher.next).toBe(3);
    hasher.feedFromDisk(blocks[3]);
    for (let i = 4; i < 8; i++) hasher.offer(i, blocks[i]);
    expect(hasher.digest()).toBe(expected);
  });
});
