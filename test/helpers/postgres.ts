import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { databaseUrl, queryOn } from './postgres-server.js';

/** What the global setup (postgres.global-setup.ts) hands every test file of a PostgreSQL project. */
export interface TestPostgres {
  /** Database to connect to for CREATE/DROP DATABASE. */
  adminUrl: string;
  /** The run's template database (stepd's schema when its migrations could be run), or null. */
  template: string | null;
  /** Prefix of every database this run creates: `stepd_t_<run>_`. */
  prefix: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stepTestPostgres: TestPostgres;
  }
}

/** A database created for one app (or one group of restarts over one data dir). */
export interface TestDatabase {
  name: string;
  url: string;
  /** DROP DATABASE ... WITH (FORCE): ends any session still on it. Idempotent. */
  drop(): Promise<void>;
}

/** Database of the suites in this process: STEP_TEST_DB=postgres (set by the PostgreSQL projects) or SQLite. */
export function testDatabaseKind(): 'sqlite' | 'postgres' {
  return process.env.STEP_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
}

function provided(): TestPostgres {
  const value = inject('stepTestPostgres') as TestPostgres | undefined;
  if (!value) {
    throw new Error(
      'STEP_TEST_DB=postgres but no PostgreSQL was provided: run through a project with test/helpers/postgres.global-setup.ts',
    );
  }
  return value;
}

/** Runs `sql` on the run's admin database. */
function adminQuery(sql: string): Promise<unknown[]> {
  return queryOn(provided().adminUrl, sql);
}

const created = new Set<TestDatabase>();
/** Databases this process created, and how many of them a client worked in before the drop. */
const usage = { created: 0, used: 0 };

/** How long a drop waits for the statistics of a session that just ended (they are flushed at its exit). */
const STATS_SETTLE_MS = 2_000;

/** Whether any session ran a transaction in (or is still connected to) database `name`. */
async function wasUsed(name: string): Promise<boolean> {
  const deadline = Date.now() + STATS_SETTLE_MS;
  for (;;) {
    const [row] = (await adminQuery(
      `SELECT numbackends > 0 OR xact_commit + xact_rollback > 0 AS used FROM pg_stat_database WHERE datname = ${pg.escapeLiteral(name)}`,
    )) as { used: boolean }[];
    if (row?.used || Date.now() > deadline) return row?.used ?? false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates a fresh database from the run's template (`empty: true`: from template0, for specs of
 * the migrations themselves). Dropped by `drop()`, else when the test file ends
 * (postgres.file-hooks.ts), else when the run ends (the global setup drops the run's prefix).
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl, template, prefix } = provided();
  const name = `${prefix}${randomBytes(5).toString('hex')}`;
  const from = options.empty || !template ? 'template0' : template;
  await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(from)}`);
  let dropped = false;
  const database: TestDatabase = {
    name,
    url: databaseUrl(adminUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      created.delete(database);
      if (await wasUsed(name)) usage.used += 1;
      await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
  created.add(database);
  usage.created += 1;
  return database;
}

/** Drops every database this process created and has not dropped yet; returns their names. */
export async function dropCreatedDatabases(): Promise<string[]> {
  const names = [...created].map((d) => d.name);
  await Promise.all([...created].map((d) => d.drop()));
  return names;
}

const byDataDir = new Map<string, Promise<TestDatabase>>();

/**
 * stepd's database environment for an app or server child over `dataDir`: `{}` on SQLite; on
 * PostgreSQL `STEP_DATABASE_URL` of a database bound to that data dir, created on first use, so
 * a server restarted over the same data dir finds its data again.
 */
export async function databaseEnvFor(dataDir: string): Promise<Record<string, string>> {
  if (testDatabaseKind() === 'sqlite') return {};
  let database = byDataDir.get(dataDir);
  if (!database) {
    database = createTestDatabase();
    byDataDir.set(dataDir, database);
  }
  return { STEP_DATABASE_URL: (await database).url };
}

/** Drops the database bound to `dataDir` (for helpers that remove the data dir itself). */
export async function releaseDatabaseFor(dataDir: string): Promise<void> {
  const database = byDataDir.get(dataDir);
  byDataDir.delete(dataDir);
  if (database) await (await database).drop();
}

/**
 * Throws when this process created databases but no client ever worked in one: the suite ran on
 * SQLite under a PostgreSQL label (stepd ignored STEP_DATABASE_URL, or a server was started
 * without the helpers). Resets the count.
 */
export function assertDatabasesUsed(file: string): void {
  const { created: count, used } = usage;
  usage.created = 0;
  usage.used = 0;
  if (count > 0 && used === 0) {
    throw new Error(
      `${file}: created ${count} PostgreSQL database(s) and stepd never connected to any: does stepd read STEP_DATABASE_URL, and do this file's servers start through test/helpers?`,
    );
  }
}

/** Forgets every data dir binding (the databases are dropped by dropCreatedDatabases). */
export function forgetDataDirs(): void {
  byDataDir.clear();
}
