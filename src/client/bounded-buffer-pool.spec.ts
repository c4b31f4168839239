import { describe, expect, it } from 'vitest';
import { BoundedBufferPool } from './bounded-buffer-pool.js';

describe('client BoundedBufferPool', () => {
  it('creates buffers only when needed, reuses returned ones and never exceeds its count', async () => {
    const pool = new BoundedBufferPool(1024, 3);
    expect(pool.allocated).toBe(0);
    const a = await pool.acquire();
    pool.release(a);
    expect(await pool.acquire()).toBe(a);
    expect(pool.allocated).toBe(1);
    const b = pool.tryAcquire();
    const c = pool.tryAcquire();
    expect(pool.tryAcquire()).toBeNull();
    expect(pool.allocated).toBe(3);
    // A waiter gets the next buffer given back.
    const waiting = pool.acquire();
    pool.release(b!);
    expect(await waiting).toBe(b);
    expect(c).not.toBe(a);
  });
});
