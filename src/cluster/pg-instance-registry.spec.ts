import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgScratch, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { PgInstanceRegistry } from './pg-instance-registry.js';
import type { SqlQuery } from './sql-query.js';

const TIMING = { heartbeatMs: 50, leaseMs: 400 };

describe('PgInstanceRegistry on a real PostgreSQL', () => {
  let db: PgScratch;
  const started: PgInstanceRegistry[] = [];
  beforeAll(async () => {
    db = await createPgScratch();
  });
  afterAll(async () => {
    for (const registry of started) await registry.beforeApplicationShutdown();
    await db?.drop();
  });

  /** An instance whose database access can be cut (`down = true`), as a network partition would. */
  async function instance(name: string): Promise<{ registry: PgInstanceRegistry; link: { down: boolean } }> {
    const link = { down: false };
    const query: SqlQuery = (sql, params) => (link.down ? Promise.reject(new Error('network down')) : db.dataSource.query(sql, params));
    const registry = new PgInstanceRegistry(query, name, TIMING);
    await registry.start();
    started.push(registry);
    return { registry, link };
  }

  it('registers each instance with its name, and every instance sees the others live', async () => {
    const a = await instance('node-a');
    const b = await instance('node-b');
    expect(a.registry.self).not.toBe(b.registry.self);
    for (const { registry } of [a, b]) {
      const live = await registry.liveInstances();
      expect(live.has(a.registry.self) && live.has(b.registry.self)).toBe(true);
    }
    const rows: { name: string }[] = await db.dataSource.query(`SELECT "name" FROM "instances" WHERE "id" = $1`, [a.registry.self]);
    expect(rows).toEqual([{ name: 'node-a' }]);
    expect(a.registry.name).toBe('node-a');
  });

  it('keeps a heartbeating instance live well past one lease', async () => {
    const a = await instance('steady');
    const observer = await instance('observer');
    await sleep(TIMING.leaseMs * 2.5);
    expect((await observer.registry.liveInstances()).has(a.registry.self)).toBe(true);
  });

  it('drops an instance that stops renewing once its lease ran out, and takes it back when it renews again', async () => {
    const quiet = await instance('partitioned');
    const observer = await instance('observer-2');
    quiet.link.down = true;
    await sleep(TIMING.leaseMs / 4);
    expect((await observer.registry.liveInstances()).has(quiet.registry.self)).toBe(true);
    await vi.waitFor(async () => expect((await observer.registry.liveInstances()).has(quiet.registry.self)).toBe(false), {
      timeout: TIMING.leaseMs * 3,
      interval: 25,
    });
    // Someone may have deleted the dead row meanwhile: the heartbeat writes it again.
    await db.dataSource.query(`DELETE FROM "instances" WHERE "id" = $1`, [quiet.registry.self]);
    quiet.link.down = false;
    await vi.waitFor(async () => expect((await observer.registry.liveInstances()).has(quiet.registry.self)).toBe(true), {
      timeout: TIMING.leaseMs * 3,
      interval: 25,
    });
  });

  it('removes its row on shutdown, so the others need not wait for the lease', async () => {
    const leaving = await instance('leaving');
    const observer = await instance('observer-3');
    await leaving.registry.beforeApplicationShutdown();
    expect((await observer.registry.liveInstances()).has(leaving.registry.self)).toBe(false);
    const rows: unknown[] = await db.dataSource.query(`SELECT 1 FROM "instances" WHERE "id" = $1`, [leaving.registry.self]);
    expect(rows).toHaveLength(0);
  });
});
