import { describe, expect, it } from 'vitest';
import { BlockBufferPool } from './block-buffer-pool.js';

describe('BlockBufferPool', () => {
  it('hands a released buffer out again for the same size', () => {
    const pool = new BlockBufferPool(1 << 20, 1024);
    const a = pool.acquire(4096);
    a.release();
    expect(pool.acquire(4096).buffer).toBe(a.buffer);
    expect(pool.acquire(4096).buffer).not.toBe(a.buffer);
  });

  it('reuses the 20480-byte blocks of lock-step clients with its default settings', () => {
    // A fresh 20 KiB buffer per block is a malloc, fresh pages to fault in and GC work: about
    // 100 us of a lock-step block's server CPU on the 2026-12-02 machine (issue 17).
    const pool = new BlockBufferPool();
    const block = pool.acquire(20480);
    block.release();
    expect(pool.acquire(20480).buffer).toBe(block.buffer);
  });

  it('ignores foreign buffers, small sizes, double releases and overflow', () => {
    const pool = new BlockBufferPool(8192, 1024);
    const foreign = Buffer.alloc(4096);
    pool.share(foreign).release();
    expect(pool.acquire(4096).buffer).not.toBe(foreign);
    const small = pool.acquire(100);
    small.release();
    expect(pool.acquire(100).buffer).not.toBe(small.buffer);
    const once = pool.acquire(2048);
    once.release();
    once.release();
    expect(pool.acquire(2048).buffer).toBe(once.buffer);
    expect(pool.acquire(2048).buffer).not.toBe(once.buffer);
    const leases = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)];
    leases.forEach((lease) => lease.release());
    const again = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)].map((lease) => lease.buffer);
    expect(again.filter((b) => leases.some((lease) => lease.buffer === b))).toHaveLength(2);
  });

  it('makes room for the size clients use now by dropping free buffers of sizes asked for longest ago', () => {
    const pool = new BlockBufferPool(8192, 1024);
    const large = [pool.acquire(4096), pool.acquire(4096)];
    large.forEach((lease) => lease.release()); // the pool is full of 4 KiB buffers ...
    const medium = [pool.acquire(3072), pool.acquire(3072)]; // ... when the client switches to 3 KiB blocks
    medium.forEach((lease) => lease.release());
    const again = [pool.acquire(3072), pool.acquire(3072)].map((lease) => lease.buffer);
    expect(again).toEqual(medium.map((lease) => lease.buffer).reverse());
    // Both 4 KiB buffers had to go to make room for the two of 3 KiB.
    const last = pool.acquire(4096).buffer;
    expect(large.some((lease) => lease.buffer === last)).toBe(false);
  });

  it('reuses a shared buffer only after every lease on it is released, in any order', () => {
    const pool = new BlockBufferPool(1 << 20, 1024);
    const first = pool.acquire(4096);
    const kept = pool.share(first.buffer); // e.g. the prefix hasher keeps the connection's block
    kept.release(); // the hasher is done first ...
    kept.release(); // ... (twice, by mistake: still one hold fewer, not two) ...
    expect(pool.acquire(4096).buffer).not.toBe(first.buffer); // ... but the connection still holds it
    first.release();
    expect(pool.acquire(4096).buffer).toBe(first.buffer);
  });
});
