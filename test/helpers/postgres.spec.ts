import { inject, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseEnvFor, releaseDatabaseFor, testDatabaseKind } from './postgres.js';
import { queryOn } from './postgres-server.js';

const exists = async (name: string) =>
  (await queryOn(inject('stepTestPostgres').adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;

describe('test databases on PostgreSQL', () => {
  it('runs in the PostgreSQL project', () => {
    expect(testDatabaseKind()).toBe('postgres');
    expect(inject('stepTestPostgres').prefix).toMatch(/^stepd_t_[0-9a-z]+_[0-9a-f]+_$/);
  });

  it('creates a fresh database that stepd can write to, and drops it (also with a session still open)', async () => {
    const database = await createTestDatabase();
    expect(database.name.startsWith(inject('stepTestPostgres').prefix)).toBe(true);
    expect(await exists(database.name)).toBe(true);
    await queryOn(database.url, 'CREATE TABLE probe (id int PRIMARY KEY)');
    await queryOn(database.url, 'INSERT INTO probe VALUES (1)');
    expect(await queryOn(database.url, 'SELECT id FROM probe')).toEqual([{ id: 1 }]);

    const other = await createTestDatabase();
    expect(await queryOn(other.url, "SELECT to_regclass('public.probe') AS t")).toEqual([{ t: null }]);
    await other.drop();

    const { Client } = (await import('pg')).default;
    const lingering = new Client(database.url);
    lingering.on('error', () => undefined);
    await lingering.connect();
    await database.drop();
    expect(await exists(database.name)).toBe(false);
    expect(await exists(other.name)).toBe(false);
    await lingering.end().catch(() => undefined);
  });

  it('binds one database to a data dir, so restarts over it find their data, until released', async () => {
    const first = await databaseEnvFor('/tmp/stepd-test-bound');
    expect(first.STEP_DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(await databaseEnvFor('/tmp/stepd-test-bound')).toEqual(first);
    expect((await databaseEnvFor('/tmp/stepd-test-other')).STEP_DATABASE_URL).not.toBe(first.STEP_DATABASE_URL);
    const name = new URL(first.STEP_DATABASE_URL).pathname.slice(1);
    await releaseDatabaseFor('/tmp/stepd-test-bound');
    expect(await exists(name)).toBe(false);
  });

  it('gives the migrations spec an empty database when asked', async () => {
    const database = await createTestDatabase({ empty: true });
    const tables = await queryOn(database.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables).toEqual([]);
    await database.drop();
  });
});
