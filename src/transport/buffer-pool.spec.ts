import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('hands a released buffer out again for the same size', () => {
    const pool = new BufferPool(1 << 20, 1024);
    const a = pool.acquire(4096);
    pool.release(a);
    expect(pool.acquire(4096)).toBe(a);
    expect(pool.acquire(4096)).not.toBe(a);
  });

  it('ignores buffers it did not allocate, small sizes, double releases and overflow', () => {
    const pool = new BufferPool(8192, 1024);
    const foreign = Buffer.alloc(4096);
    pool.release(foreign);
    expect(pool.acquire(4096)).not.toBe(foreign);
    const small = pool.acquire(100);
    pool.release(small);
    expect(pool.acquire(100)).not.toBe(small);
    const once = pool.acquire(2048);
    pool.release(once);
    pool.release(once);
    expect(pool.acquire(2048)).toBe(once);
    expect(pool.acquire(2048)).not.toBe(once);
    const [x, y, z] = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)];
    [x, y, z].forEach((b) => pool.release(b));
    const again = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)];
    expect(again.filter((b) => b === x || b === y || b === z)).toHaveLength(2);
  });

  it('reuses a retained buffer only after every holder released it, in any order', () => {
    const pool = new BufferPool(1 << 20, 1024);
    const a = pool.acquire(4096);
    pool.retain(a); // e.g. the prefix hasher keeps the connection's block
    pool.release(a); // the hasher is done first ...
    const other = pool.acquire(4096);
    expect(other).not.toBe(a); // ... but the connection still holds it
    pool.release(a);
    expect(pool.acquire(4096)).toBe(a);
  });
});
