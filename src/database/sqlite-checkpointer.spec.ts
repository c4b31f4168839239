import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions, DATABASE_FILE } from './database.options.js';
import { BACKSTOP_CHECKPOINT_PAGES, CHECKPOINT_INTERVAL_MS, SqliteCheckpointer } from './sqlite-checkpointer.js';

describe('SqliteCheckpointer: WAL checkpoints off the event loop', () => {
  let dataDir: string;
  let module: TestingModule;
  let checkpointer: SqliteCheckpointer;
  let db: Database;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-checkpoint-'));
    Logger.overrideLogger(false);
    const config = loadConfig({ STEP_DATA_DIR: dataDir, LOG_LEVEL: 'fatal' });
    module = await Test.createTestingModule({
      imports: [TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), retryAttempts: 0 })],
      providers: [SqliteCheckpointer],
    }).compile();
    await module.init();
    checkpointer = module.get(SqliteCheckpointer);
    db = (module.get<DataSource>(getDataSourceToken()).driver as unknown as { databaseConnection: Database }).databaseConnection;
  });

  afterEach(async () => {
    await module.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const databaseBytes = async () => (await stat(join(dataDir, DATABASE_FILE))).size;

  it('copies commits into the database file by itself, long before the main connection would', async () => {
    expect(checkpointer.running).toBe(true);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_CHECKPOINT_PAGES);
    db.exec('CREATE TABLE filler (id integer PRIMARY KEY, body blob NOT NULL)');
    const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
    // ~300 pages in 300 commits: SQLite's own checkpoint (every 1000 pages) would leave them in the WAL.
    for (let i = 0; i < 300; i++) insert.run(Buffer.alloc(3000, i));
    const before = await databaseBytes();
    const deadline = Date.now() + 20 * CHECKPOINT_INTERVAL_MS;
    while ((await databaseBytes()) < before + 300 * 3000 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_INTERVAL_MS / 4));
    }
    expect(await databaseBytes()).toBeGreaterThanOrEqual(before + 300 * 3000);
  });

  it('hands checkpoints back to the main connection when the thread stops', async () => {
    await checkpointer.onModuleDestroy();
    expect(checkpointer.running).toBe(false);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});
