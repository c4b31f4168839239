import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommonModule } from '../common/common.module.js';
import { StepConfigModule } from '../config/config.module.js';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from '../database/database.options.js';
import { SqlRunner } from '../database/sql-runner.js';
import { SQL_RUNNER_PROVIDERS } from '../database/sql-runner.providers.js';
import { StepStatus } from '../protocol/index.js';
import { DataRecordStore } from './data-records.repository.js';
import { DataRecordsService } from './data-records.service.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/helpers/scratch-database.js';
import { SPEC_ENGINES } from '../../test/helpers/upload-services.js';
import { FILES_ENTITIES } from './entities/index.js';

/** The STEP status `run` rejects with (OK when it resolves). */
async function statusOf(run: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await run();
    return StepStatus.OK;
  } catch (err) {
    return (err as { status?: number }).status;
  }
}

/** DataRecordsService on a real database: SQLite in `dataDir`, or the PostgreSQL database at `url`. */
async function boot(dataDir: string, url: string | null): Promise<TestingModule> {
  Logger.overrideLogger(false);
  const config = loadConfig({
    STEP_DATA_DIR: dataDir,
    LOG_LEVEL: 'fatal',
    STEP_MAX_DATA_RECORDS_PER_USER: '2',
    ...(url ? { STEP_DATABASE_URL: url } : {}),
  });
  const module = await Test.createTestingModule({
    imports: [
      StepConfigModule.forRoot(config),
      CommonModule,
      TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), autoLoadEntities: true }),
      TypeOrmModule.forFeature(FILES_ENTITIES),
    ],
    providers: [...SQL_RUNNER_PROVIDERS, DataRecordStore, DataRecordsService],
  }).compile();
  return module.init();
}

describe.each(SPEC_ENGINES)('%s: DataRecordsService (docs/protocol.md §8)', (engine) => {
  let dataDir: string;
  let database: ScratchDatabase | null;
  let module: TestingModule;
  let records: DataRecordsService;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-unit-'));
    database = engine === 'postgres' ? await createScratchDatabase() : null;
    module = await boot(dataDir, database?.url ?? null);
    records = module.get(DataRecordsService);
  });
  afterEach(async () => {
    await module.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const save = (user: string, key: string) => () =>
    records.save(user, { key }, { type: 'DATA', operation: 'SAVE', key, token: 't', n: key });

  it('returns the stored fields with the key, and 404 for a key not stored', async () => {
    await records.save('alice', { key: 'k' }, { type: 'DATA', operation: 'SAVE', key: 'k', token: 't', a: 1, b: { c: 'd' } });
    expect((await records.get('alice', { key: 'k' })).fields).toEqual({ a: 1, b: { c: 'd' }, key: 'k' });
    expect(await statusOf(() => records.get('bob', { key: 'k' }))).toBe(StepStatus.KEY_NOT_FOUND);
    expect(await statusOf(save('alice', 'k'))).toBe(StepStatus.KEY_EXISTS);
  });

  it('keeps the per-user limit through deletes, per user', async () => {
    expect([await statusOf(save('alice', 'a')), await statusOf(save('alice', 'b'))]).toEqual([StepStatus.OK, StepStatus.OK]);
    expect(await statusOf(save('alice', 'c'))).toBe(StepStatus.TOO_MANY);
    expect(await statusOf(save('bob', 'c'))).toBe(StepStatus.OK);
    expect((await records.delete('alice', { key: 'a' })).fields).toEqual({ key: 'a' });
    expect(await statusOf(() => records.delete('alice', { key: 'a' }))).toBe(StepStatus.KEY_NOT_FOUND);
    expect(await statusOf(save('alice', 'c'))).toBe(StepStatus.OK);
    expect(await statusOf(save('alice', 'd'))).toBe(StepStatus.TOO_MANY);
    expect((await records.list('alice', {})).fields).toEqual({ keys: ['b', 'c'] });
  });

  it('counts the records stored before it started', async () => {
    await save('alice', 'a')();
    await save('alice', 'b')();
    await module.close();
    module = await boot(dataDir, database?.url ?? null);
    records = module.get(DataRecordsService);
    expect(await statusOf(save('alice', 'c'))).toBe(StepStatus.TOO_MANY);
    await records.delete('alice', { key: 'b' });
    expect(await statusOf(save('alice', 'c'))).toBe(StepStatus.OK);
  });

  it('tells a SAVE of a stored key 402 (key exists) also when the user is at the limit', async () => {
    await save('alice', 'a')();
    await save('alice', 'b')();
    expect(await statusOf(save('alice', 'a'))).toBe(StepStatus.KEY_EXISTS);
    expect(await statusOf(save('alice', 'c'))).toBe(StepStatus.TOO_MANY);
  });

  it("stores a record with one statement once the user's count is known (no look-up of the key first)", async () => {
    await save('alice', 'a')();
    const db = module.get(SqlRunner);
    const statements: string[] = [];
    for (const method of ['get', 'all', 'run'] as const) {
      const original = db[method].bind(db) as (sql: string, params?: readonly unknown[]) => Promise<unknown>;
      vi.spyOn(db, method).mockImplementation(((sql: string, params?: readonly unknown[]) => {
        statements.push(sql);
        return original(sql, params);
      }) as never);
    }
    expect(await statusOf(save('alice', 'b'))).toBe(StepStatus.OK);
    // PostgreSQL re-reads a count older than a second; SQLite keeps it.
    expect(statements.filter((sql) => !sql.includes('COUNT(*)'))).toEqual([expect.stringMatching(/^INSERT INTO data_records/)]);
    expect(await statusOf(save('alice', 'b'))).toBe(StepStatus.KEY_EXISTS);
  });

  it('answers one of two concurrent SAVEs of one key with 409, never a crash or two records', async () => {
    const statuses = await Promise.all([statusOf(save('alice', 'same')), statusOf(save('alice', 'same'))]);
    expect(statuses.sort()).toEqual([StepStatus.OK, StepStatus.KEY_EXISTS].sort());
    expect((await records.list('alice', {})).fields).toEqual({ keys: ['same'] });
    // The refused SAVE gave its slot back: one more record still fits under the limit of 2.
    expect(await statusOf(save('alice', 'other'))).toBe(StepStatus.OK);
  });
});
