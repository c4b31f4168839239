import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { undoMigrationsThrough } from '../../test/helpers/migrations.js';
import { createScratchDatabase, type ScratchDatabase } from '../../test/helpers/scratch-database.js';
import { createUploadServices, SPEC_ENGINES } from '../../test/helpers/upload-services.js';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from '../database/database.options.js';

const OLD_CHUNK_BITS = 16_384;
const TOTAL = 20_000;
const SET = [0, 8191, 8192, 16_383, 16_384, 19_999];

/** The bitmap of `SET` as rows of the old 16384-bit chunks. */
function oldChunks(): Array<{ chunk: number; bits: Buffer }> {
  const chunks = [Buffer.alloc(OLD_CHUNK_BITS / 8), Buffer.alloc(Math.ceil((TOTAL - OLD_CHUNK_BITS) / 8))];
  for (const index of SET) {
    const bit = index % OLD_CHUNK_BITS;
    chunks[Math.floor(index / OLD_CHUNK_BITS)][bit >> 3] |= 1 << (bit & 7);
  }
  return chunks.map((bits, chunk) => ({ chunk, bits }));
}

describe.each(SPEC_ENGINES)('%s: migration RechunkUploadBlocks (bitmap chunks of 8192 bits)', (engine) => {
  let dataDir: string;
  let scratch: ScratchDatabase | null = null;
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await scratch?.drop();
  });

  it('keeps every received block of an upload recorded in the old 16384-bit chunks, down and up again too', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-rechunk-'));
    scratch = engine === 'postgres' ? await createScratchDatabase() : null;
    const env: Record<string, string> = scratch ? { STEP_DATABASE_URL: scratch.url } : {};
    let s = await createUploadServices(env, { dataDir });
    await s.receiver.plan('alice', { key: 'big', size: TOTAL * 4096, block_size: 4096 });
    const row = (await s.ledger.find('alice', 'big'))!;
    await s.close();

    const dataSource = new DataSource(buildDataSourceOptions(loadConfig({ STEP_DATA_DIR: dataDir, LOG_LEVEL: 'fatal', ...env })));
    await dataSource.initialize();
    try {
      await undoMigrationsThrough(dataSource, 'Rechunk');
      for (const { chunk, bits } of oldChunks()) {
        await dataSource.query(
          scratch
            ? `INSERT INTO upload_blocks (upload_id, chunk, bits) VALUES ($1, $2, ('x' || encode($3, 'hex'))::bit varying)`
            : `INSERT INTO upload_blocks (upload_id, chunk, bits) VALUES (?, ?, ?)`,
          [row.id, chunk, bits],
        );
      }
      await dataSource.runMigrations();
      await undoMigrationsThrough(dataSource, 'Rechunk');
      await dataSource.runMigrations();
    } finally {
      await dataSource.destroy();
    }

    s = await createUploadServices(env, { dataDir });
    try {
      const bitmap = await s.ledger.loadBitmap(row);
      expect(bitmap.count).toBe(SET.length);
      for (const index of SET) expect(bitmap.has(index)).toBe(true);
      for (const index of [1, 8190, 8193, 16_385, 19_998]) expect(bitmap.has(index)).toBe(false);
    } finally {
      await s.close();
    }
  });
});
