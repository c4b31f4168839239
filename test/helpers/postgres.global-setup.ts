import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import type { TestProject } from 'vitest/node';
import type { TestPostgres } from './postgres.js';
import { databaseUrl, queryOn, resolvePostgresServer, type PostgresServer } from './postgres-server.js';

/** Run state shared by both PostgreSQL projects: their global setups run in one process. */
interface SharedRun {
  users: number;
  ready: Promise<{ server: PostgresServer; provided: TestPostgres }>;
}
const KEY = Symbol.for('stepd.test.postgres');
const registry = globalThis as unknown as Record<symbol, SharedRun | undefined>;

/** Databases of runs killed before their teardown are dropped once they are this old. */
const STALE_RUN_MS = 6 * 3600_000;

/**
 * Vitest global setup of the PostgreSQL projects: finds a server (postgres-server.ts), builds
 * one template database for the run, provides both to the test files, and at the end drops every
 * database of the run (also those of a test file that crashed) and stops an embedded server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let run = registry[KEY];
  if (!run) {
    run = { users: 0, ready: startRun() };
    registry[KEY] = run;
  }
  run.users += 1;
  const { provided } = await run.ready;
  project.provide('stepTestPostgres', provided);
  return async () => {
    run.users -= 1;
    if (run.users > 0) return;
    registry[KEY] = undefined;
    const { server } = await run.ready;
    try {
      await dropRunDatabases(provided);
    } finally {
      await server.stop();
    }
  };
}

async function startRun(): Promise<{ server: PostgresServer; provided: TestPostgres }> {
  const server = await resolvePostgresServer();
  // The run id starts with the time, so a later run can tell a killed run's leftovers.
  const run = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const prefix = `stepd_t_${run}_`;
  const template = `stepd_tpl_${run}`;
  try {
    await dropStaleDatabases(server.adminUrl);
    await queryOn(server.adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(template)} TEMPLATE template0`);
    await migrate(databaseUrl(server.adminUrl, template));
    // No session may stay on a template while databases are created from it.
    await queryOn(server.adminUrl, `ALTER DATABASE ${pg.escapeIdentifier(template)} WITH ALLOW_CONNECTIONS false`);
  } catch (error) {
    await server.stop();
    throw error;
  }
  console.log(`PostgreSQL for the tests: ${server.source} server, template ${template}`);
  return { server, provided: { adminUrl: server.adminUrl, template, prefix } };
}

const POSTGRES_MIGRATIONS_FILE = fileURLToPath(new URL('../../src/database/migrations/postgres/index.ts', import.meta.url));

/**
 * Runs stepd's PostgreSQL migrations on the template, so each app starts on a migrated schema
 * (its own migration run then finds nothing to do). Uses TypeORM's default migrations table, as
 * buildDataSourceOptions does. Without the migrations list the template stays empty and every
 * app migrates its own database at startup.
 */
async function migrate(url: string): Promise<void> {
  if (!existsSync(POSTGRES_MIGRATIONS_FILE)) return;
  const specifier = '../../src/database/migrations/postgres/index.js';
  const { POSTGRES_MIGRATIONS } = (await import(specifier)) as { POSTGRES_MIGRATIONS: (new () => MigrationInterface)[] };
  const dataSource = new DataSource({ type: 'postgres', url, migrations: POSTGRES_MIGRATIONS, logging: ['error'] });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await dataSource.destroy();
  }
}

async function dropRunDatabases({ adminUrl, template, prefix }: TestPostgres): Promise<void> {
  const rows = await queryOn<{ datname: string }>(adminUrl, 'SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
  const names = [...rows.map((r) => r.datname), ...(template ? [template] : [])];
  for (const name of names) await queryOn(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

/** Drops databases of earlier runs (killed before their teardown) older than STALE_RUN_MS. */
async function dropStaleDatabases(adminUrl: string): Promise<void> {
  const rows = await queryOn<{ datname: string }>(adminUrl, "SELECT datname FROM pg_database WHERE datname ~ '^stepd_(t|tpl)_[0-9a-z]+_'");
  for (const { datname } of rows) {
    const started = parseInt(datname.split('_')[2], 36);
    if (Date.now() - started > STALE_RUN_MS) {
      await queryOn(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  }
}
