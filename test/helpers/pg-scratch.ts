import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CommonModule } from '../../src/common/common.module.js';
import { StepConfigModule } from '../../src/config/config.module.js';
import type { StepConfig } from '../../src/config/step.config.js';
import { buildDataSourceOptions, type DatabaseSettings } from '../../src/database/database.options.js';

/** The server the PostgreSQL specs use: STEP_TEST_DATABASE_URL, else the machine's (CI's) server. */
export const SCRATCH_ADMIN_URL = process.env.STEP_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database with stepd's schema, for one spec file. */
export interface PgScratch {
  url: string;
  /** A DataSource on it (migrations run), as the app's. */
  dataSource: DataSource;
  /** Closes the DataSource and drops the database (WITH (FORCE): ends every session still on it). */
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SCRATCH_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (err) {
    // Fails the suite loudly: these specs exist to run against a real PostgreSQL.
    throw new Error(
      `No PostgreSQL at ${SCRATCH_ADMIN_URL} (${(err as Error).message}); set STEP_TEST_DATABASE_URL to a server where this user may CREATE DATABASE.`,
      { cause: err },
    );
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `stepd_scratch_<random>` and runs stepd's PostgreSQL migrations on it. */
export async function createPgScratch(): Promise<PgScratch> {
  const name = `stepd_scratch_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(SCRATCH_ADMIN_URL);
  url.pathname = `/${name}`;
  const dataSource = new DataSource(
    buildDataSourceOptions({ database: { url: url.toString() }, storage: { dataDir: '/nonexistent' } } as DatabaseSettings),
  );
  await dataSource.initialize();
  return {
    url: url.toString(),
    dataSource,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** What a testing module of an instance's services needs under them: the config, the clock and the app's DataSource. */
export function instanceBaseImports(config: StepConfig): Array<DynamicModule | typeof CommonModule> {
  return [
    StepConfigModule.forRoot(config),
    CommonModule,
    TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), autoLoadEntities: true }),
  ];
}
