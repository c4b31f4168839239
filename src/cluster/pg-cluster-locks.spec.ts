import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgScratch, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { ClusterLockLostError, ClusterLockTimeoutError } from './cluster.errors.js';
import { PgClusterLocks } from './pg-cluster-locks.js';

// Two PgClusterLocks are two instances: each has its own pool, as two processes would.
describe('PgClusterLocks on a real PostgreSQL', () => {
  let db: PgScratch;
  let a: PgClusterLocks;
  let b: PgClusterLocks;
  beforeAll(async () => {
    db = await createPgScratch();
    a = new PgClusterLocks(db.url, { waitTimeoutMs: 2_000 });
    b = new PgClusterLocks(db.url, { waitTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    await a?.onApplicationShutdown();
    await b?.onApplicationShutdown();
    await db?.drop();
  });

  /** Runs `work` under `name` on `locks`, recording how many holders of the name overlapped. */
  function tracker() {
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    return {
      hold: (locks: PgClusterLocks, name: string, label: string, ms: number) =>
        locks.run(name, async () => {
          inside++;
          most = Math.max(most, inside);
          order.push(`${label}+`);
          await sleep(ms);
          order.push(`${label}-`);
          inside--;
          return label;
        }),
      most: () => most,
      order,
    };
  }

  it('excludes holders of one name across two instances, and within one', async () => {
    const t = tracker();
    const results = await Promise.all([
      t.hold(a, 'user/alice/key', 'a1', 60),
      t.hold(b, 'user/alice/key', 'b1', 60),
      t.hold(a, 'user/alice/key', 'a2', 60),
      t.hold(b, 'user/alice/key', 'b2', 60),
    ]);
    expect(results).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(t.most()).toBe(1);
    // Every holder entered and left before the next one entered.
    for (let i = 0; i < t.order.length; i += 2) expect(t.order[i].slice(0, 2)).toBe(t.order[i + 1].slice(0, 2));
  });

  it('takes several names on one connection: a full pool of key-and-user holders does not wait for itself', async () => {
    // A pool of 2 and 6 SAVE-like holders of their own key plus one shared user lock. Nested
    // run() calls would hold 2 connections for outer locks and wait for a third until the timeout.
    const small = new PgClusterLocks(db.url, { poolSize: 2, waitTimeoutMs: 2_000 });
    try {
      let inside = 0;
      let most = 0;
      const done = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          small.run([`upload/alice/k${i}`, 'uploads-of/alice'], async () => {
            most = Math.max(most, ++inside);
            await sleep(20);
            inside--;
            return i;
          }),
        ),
      );
      expect(done).toEqual([0, 1, 2, 3, 4, 5]);
      // The user lock is common to all of them: one at a time, also against the other instance.
      expect(most).toBe(1);
      const order: string[] = [];
      await Promise.all([
        small.run(['upload/alice/x', 'uploads-of/alice'], async () => {
          order.push('both+');
          await sleep(80);
          order.push('both-');
        }),
        sleep(20).then(() => b.run('uploads-of/alice', async () => void order.push('user'))),
      ]);
      expect(order).toEqual(['both+', 'both-', 'user']);
    } finally {
      await small.onApplicationShutdown();
    }
  });

  it('lets different names run at the same time', async () => {
    const t = tracker();
    await Promise.all([t.hold(a, 'name-1', 'x', 150), t.hold(b, 'name-2', 'y', 150)]);
    expect(t.most()).toBe(2);
  });

  it('releases the lock when the holder throws', async () => {
    await expect(
      a.run('throws', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(b.run('throws', async () => 'next')).resolves.toBe('next');
  });

  it('answers a 503 ClusterLockTimeoutError when the lock is not granted in time', async () => {
    const short = new PgClusterLocks(db.url, { waitTimeoutMs: 200 });
    try {
      let release!: () => void;
      const held = a.run('stuck', () => new Promise<void>((resolve) => (release = resolve)));
      await sleep(100);
      const started = Date.now();
      const refused = await short.run('stuck', async () => 'got it').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ClusterLockTimeoutError);
      expect((refused as ClusterLockTimeoutError).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1_500);
      release();
      await held;
      await expect(short.run('stuck', async () => 'got it')).resolves.toBe('got it');
    } finally {
      await short.onApplicationShutdown();
    }
  });

  it('fails the holder loudly when its connection breaks, and the lock is free for others', async () => {
    const killer = new pg.Client({ connectionString: db.url });
    await killer.connect();
    try {
      let signal: AbortSignal | null = null;
      const holder = a.run('fragile', async (lost) => {
        signal = lost;
        await sleep(400);
        return 'finished';
      });
      await sleep(100);
      await killer.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`,
      );
      const outcome = await holder.catch((err: unknown) => err);
      expect(outcome).toBeInstanceOf(ClusterLockLostError);
      expect(signal!.aborted).toBe(true);
      await expect(b.run('fragile', async () => 'taken over')).resolves.toBe('taken over');
      // The broken connection was thrown away: the instance still locks normally.
      await expect(a.run('fragile', async () => 'again')).resolves.toBe('again');
    } finally {
      await killer.end();
    }
  });
});
