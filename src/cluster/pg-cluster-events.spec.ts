import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgScratch, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { PgClusterEvents } from './pg-cluster-events.js';

describe('PgClusterEvents on a real PostgreSQL', () => {
  let db: PgScratch;
  let a: PgClusterEvents;
  let b: PgClusterEvents;
  const seenByA: string[] = [];
  const seenByB: string[] = [];
  let gapsOfB = 0;
  beforeAll(async () => {
    db = await createPgScratch();
    const query = (sql: string, params?: unknown[]) => db.dataSource.query(sql, params);
    a = new PgClusterEvents(db.url, query);
    b = new PgClusterEvents(db.url, query);
    await a.start();
    await b.start();
    a.subscribe('sessions', (m) => seenByA.push(m));
    b.subscribe('sessions', (m) => seenByB.push(m));
    b.onGap(() => gapsOfB++);
  });
  afterAll(async () => {
    await a?.onApplicationShutdown();
    await b?.onApplicationShutdown();
    await db?.drop();
  });

  /** Publishes `probe` from `a` until `b` got one: LISTEN is issued asynchronously by subscribe. */
  async function untilListening(probe: string): Promise<void> {
    await vi.waitFor(
      async () => {
        if (!seenByB.includes(probe)) await a.publish('sessions', probe);
        expect(seenByB).toContain(probe);
      },
      { timeout: 5_000, interval: 50 },
    );
  }

  it('delivers a message to the other instance, and to the sender exactly once', async () => {
    await untilListening('probe-1');
    seenByA.length = 0;
    seenByB.length = 0;
    await a.publish('sessions', 'revoked:session-42');
    expect(seenByA).toEqual(['revoked:session-42']);
    await vi.waitFor(() => expect(seenByB).toEqual(['revoked:session-42']), { timeout: 2_000, interval: 10 });
    // The echo from PostgreSQL is not a second delivery to the sender.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seenByA).toEqual(['revoked:session-42']);
  });

  it('refuses channel names that are not plain identifiers', async () => {
    await expect(a.publish('bad channel; DROP', 'x')).rejects.toThrow(/invalid cluster channel/);
    expect(() => a.subscribe('Sessions', () => undefined)).toThrow(/invalid cluster channel/);
  });

  it('reconnects after its LISTEN connection is killed, tells its gap listeners, and receives again', async () => {
    const killer = new pg.Client({ connectionString: db.url });
    await killer.connect();
    try {
      await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'stepd-events'`);
    } finally {
      await killer.end();
    }
    await vi.waitFor(() => expect(gapsOfB).toBe(1), { timeout: 5_000, interval: 20 });
    seenByB.length = 0;
    await untilListening('probe-2');
    await a.publish('sessions', 'after-reconnect');
    await vi.waitFor(() => expect(seenByB).toContain('after-reconnect'), { timeout: 2_000, interval: 10 });
  });
});
