import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { StepConfig } from '../config/step.config.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres/index.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite/index.js';

/** File name of the SQLite database inside STEP_DATA_DIR. */
export const DATABASE_FILE = 'stepd.sqlite';

/** Which engine holds stepd's metadata. */
export type DatabaseKind = 'sqlite' | 'postgres';

/** What the DataSource options depend on. */
export type DatabaseSettings = Pick<StepConfig, 'database' | 'storage'>;

/** PostgreSQL when STEP_DATABASE_URL is set, else the embedded SQLite. */
export function databaseKind(settings: Pick<StepConfig, 'database'>): DatabaseKind {
  return settings.database.url === null ? 'sqlite' : 'postgres';
}

/**
 * DataSource options shared by the app, `stepd users` and the TypeORM CLI (ormconfig.ts); schema by
 * migrations only, one list per engine. Entities are not listed here: each feature module
 * registers its own (TypeOrmModule.forFeature with autoLoadEntities).
 *
 * SQLite: better-sqlite3 in WAL mode with synchronous=NORMAL (durable across process crashes,
 * which is what an acknowledged block needs; fsync at checkpoints). Commits that must survive a
 * power cut (a completed upload) wait for SqliteWriter.durable().
 *
 * PostgreSQL: the `pg` driver with a small pool; bigint columns (epoch ms, byte sizes) come back
 * as numbers (parseInt8), which is exact below 2^53.
 */
export function buildDataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  if (settings.database.url !== null) {
    return {
      type: 'postgres',
      url: settings.database.url,
      parseInt8: true,
      poolSize: 10,
      applicationName: 'stepd',
      migrations: POSTGRES_MIGRATIONS,
      migrationsRun: true,
      synchronize: false,
      logging: ['error'],
    };
  }
  const dataDir = settings.storage.dataDir;
  mkdirSync(dataDir, { recursive: true });
  return {
    type: 'better-sqlite3',
    database: join(dataDir, DATABASE_FILE),
    enableWAL: true,
    // TypeORM leaves synchronous at FULL; NORMAL is safe in WAL mode and several times cheaper per write.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
    migrations: SQLITE_MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
    logging: ['error'],
  };
}
