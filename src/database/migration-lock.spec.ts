import { afterEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../test/helpers/scratch-database.js';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from './database.options.js';
import { initializeWithMigrations } from './migration-lock.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres/index.js';

describe('migrations on PostgreSQL when instances start together', () => {
  let database: ScratchDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
  });

  it('runs each migration once while four instances initialise at the same moment on an empty database', async () => {
    database = await createScratchDatabase();
    const options = buildDataSourceOptions(loadConfig({ STEP_DATA_DIR: '/nonexistent-unused', STEP_DATABASE_URL: database.url }));
    const started = await Promise.allSettled(Array.from({ length: 4 }, () => initializeWithMigrations(options)));
    const sources = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      expect(started.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
      const rows = (await sources[0].query(`SELECT name FROM migrations ORDER BY id`)) as Array<{ name: string }>;
      expect(rows.map((r) => r.name)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.name));
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
    }
  });
});
