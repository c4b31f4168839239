import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { PrefixHasher } from './prefix-hasher.js';

describe('PrefixHasher', () => {
  const pool = new BlockBufferPool();
  const blocks = Array.from({ length: 8 }, () => randomBytes(100));
  const expected = createHash('md5').update(Buffer.concat(blocks)).digest('hex');

  it('hashes blocks that arrive out of order through its window', () => {
    const hasher = new PrefixHasher(10_000, pool);
    for (const i of [3, 1, 0, 2, 7, 5, 4, 6]) hasher.offer(i, blocks[i]);
    expect(hasher.hashed).toBe(8);
    expect(hasher.digest()).toBe(expected);
  });

  it('leaves blocks that do not fit the window for a read from disk', () => {
    const hasher = new PrefixHasher(200, pool);
    for (const i of [1, 2, 3]) hasher.offer(i, blocks[i]);
    hasher.offer(0, blocks[0]); // drains 0, 1, 2; block 3 did not fit
    expect(hasher.next).toBe(3);
    hasher.feedFromDisk(blocks[3]);
    for (let i = 4; i < 8; i++) hasher.offer(i, blocks[i]);
    expect(hasher.digest()).toBe(expected);
  });

  it('keeps the blocks nearest the prefix when the window is full, so fewer are read back', () => {
    const hasher = new PrefixHasher(200, pool);
    hasher.offer(5, blocks[5]);
    hasher.offer(6, blocks[6]);
    hasher.offer(2, blocks[2]); // nearer than 6: 6 goes, 2 stays
    hasher.offer(7, blocks[7]); // farther than both kept: not kept
    hasher.offer(0, blocks[0]);
    hasher.offer(1, blocks[1]); // drains 2 from the window
    expect(hasher.next).toBe(3);
    hasher.feedFromDisk(blocks[3]);
    hasher.feedFromDisk(blocks[4]); // drains 5
    expect(hasher.next).toBe(6);
    hasher.feedFromDisk(blocks[6]);
    hasher.feedFromDisk(blocks[7]);
    expect(hasher.digest()).toBe(expected);
  });

  it('never lets the pool reuse a kept block its request still holds', () => {
    // The sequence that corrupted md5s: block 1 is kept, block 0's request drains it before block
    // 1's request has finished; its buffer must not be handed out until that request releases it.
    const hasher = new PrefixHasher(1 << 20, pool);
    const first = pool.acquire(128 * 1024);
    const second = pool.acquire(128 * 1024);
    hasher.offer(1, second.buffer);
    hasher.offer(0, first.buffer);
    expect(hasher.hashed).toBe(2);
    // Request 1 has not been answered yet: a new frame must not be assembled into its buffer.
    const next = pool.acquire(128 * 1024);
    expect(next.buffer).not.toBe(second.buffer);
    first.release();
    second.release();
    expect([pool.acquire(128 * 1024).buffer, pool.acquire(128 * 1024).buffer]).toContain(second.buffer);
  });

  it('hashes the block that extends the prefix once the replies are out, holding its buffer until then', async () => {
    // The reply to a lock-step client is written in the continuations of its block's receipt:
    // hashing the block after them lets the client send its next block meanwhile.
    const hasher = new PrefixHasher(1 << 20, pool);
    const block = pool.acquire(128 * 1024);
    block.buffer.fill(7);
    hasher.offer(0, block.buffer);
    expect(hasher.next).toBe(1);
    block.release();
    const during = pool.acquire(128 * 1024);
    expect(during.buffer).not.toBe(block.buffer);
    hasher.hashAfterReplies();
    const replies: string[] = [];
    void Promise.resolve().then(() => replies.push('written'));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(replies).toEqual(['written']);
    during.release();
    expect([pool.acquire(128 * 1024).buffer, pool.acquire(128 * 1024).buffer]).toContain(block.buffer);
    expect(hasher.digest()).toBe(
      createHash('md5')
        .update(Buffer.alloc(128 * 1024, 7))
        .digest('hex'),
    );
  });

  it('hashes a deferred block before the next one, a block from disk, or the digest', () => {
    const hasher = new PrefixHasher(10_000, pool);
    hasher.offer(0, blocks[0]);
    hasher.offer(1, blocks[1]);
    hasher.feedFromDisk(blocks[2]);
    for (const i of [4, 3, 5, 6, 7]) hasher.offer(i, blocks[i]);
    expect(hasher.hashed).toBe(8);
    expect(hasher.digest()).toBe(expected);
  });

  it('takes no block once the digest is taken, so that nothing is left to hash after it', async () => {
    const hasher = new PrefixHasher(10_000, pool);
    hasher.offer(0, blocks[0]);
    const digest = hasher.digest();
    hasher.offer(1, blocks[1]);
    hasher.hashAfterReplies();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(hasher.hashed).toBe(1);
    expect(digest).toBe(createHash('md5').update(blocks[0]).digest('hex'));
  });
});
