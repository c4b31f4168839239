import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/** File name of the SQLite database inside STEP_DATA_DIR. */
export const DATABASE_FILE = 'stepd.sqlite';

/**
 * DataSource options shared by the app and the TypeORM CLI (ormconfig.ts): better-sqlite3 in WAL
 * mode with synchronous=NORMAL (durable across process crashes, which is what an acknowledged
 * block needs; fsync at checkpoints), schema by migrations only. Entities are not listed here:
 * each feature module registers its own (TypeOrmModule.forFeature with autoLoadEntities). Commits that must survive a
 * power cut (a completed upload) wait for SqliteWriter.durable().
 */
export function buildDataSourceOptions(dataDir: string): DataSourceOptions {
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
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
    logging: ['error'],
  };
}
