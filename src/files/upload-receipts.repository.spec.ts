import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { undoMigrationsThrough } from '../../test/helpers/migrations.js';
import type { ScratchDatabase } from '../../test/helpers/scratch-database.js';
import { closeSharedInstances, createSharedInstances, type UploadServices } from '../../test/helpers/upload-services.js';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from '../database/database.options.js';
import { BITMAP_CHUNK_BITS, BlockBitmap } from './block-bitmap.js';
import type { ReceiptEntry } from './upload-receipts.repository.js';

const BLOCK = 4096;

/** A receipt naming new blocks, as the progress writer sends them. */
function blocks(uploadId: string, indexes: number[], counters: number | null = null): ReceiptEntry {
  return { uploadId, chunks: [], blocks: indexes, md5s: [], counters };
}

/**
 * Receipts on PostgreSQL (migration RecordBlocks1764600000000) from two instances in one process
 * on one database: the promises of docs/scale-out.md "Receipts" at the repository.
 */
describe('UploadReceipts on PostgreSQL, two instances', () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let a: UploadServices;
  let b: UploadServices;
  beforeEach(async () => {
    ({ database, dataDir, a, b } = await createSharedInstances('stepd-receipts-'));
  });
  afterEach(() => closeSharedInstances({ database, dataDir, a, b }));

  /** Plans `total` blocks under `key` on `a`; the upload's id. */
  async function planned(key: string, total: number): Promise<string> {
    await a.plan('alice', key, randomBytes(total * BLOCK), BLOCK);
    return (await a.ledger.find('alice', key))!.id;
  }

  async function storedBitmap(key: string): Promise<BlockBitmap> {
    return a.ledger.loadBitmap((await a.ledger.find('alice', key))!);
  }

  it('records the union of both instances, counts each block once, and exactly one receipt sees the last block', async () => {
    // Three chunks, the last one partial: bits land where BlockBitmap reads them back.
    const total = 2 * BITMAP_CHUNK_BITS + 77;
    const id = await planned('u', total);
    const order = Array.from({ length: total }, (_, i) => (i * 7919) % total);
    const results: Array<number | null | undefined> = [];
    for (let at = 0; at < total; at += 1000) {
      const slice = order.slice(at, at + 1000);
      // Both at once, each with a block the other also sends (re-sent blocks never count twice).
      const [fromA, fromB] = await Promise.all([
        a.receipts.commit([blocks(id, slice.filter((_, i) => i % 2 === 0).concat(slice[1]))], 0),
        b.receipts.commit([blocks(id, slice.filter((_, i) => i % 2 === 1).concat(slice[0]))], 0),
      ]);
      results.push(fromA[0], fromB[0]);
      expect(Math.max(fromA[0]!, fromB[0]!)).toBe(Math.min(at + 1000, total));
    }
    expect(results.filter((count) => count === total)).toHaveLength(1);
    const stored = await storedBitmap('u');
    expect(stored.count).toBe(total);
    expect(stored.complete).toBe(true);
  });

  it('sets exactly the bits of the blocks named, in every chunk', async () => {
    const total = BITMAP_CHUNK_BITS + 20;
    const id = await planned('bits', total);
    const sent = [0, 9, 8, 7, BITMAP_CHUNK_BITS - 1, BITMAP_CHUNK_BITS, total - 1];
    expect(await a.receipts.commit([blocks(id, sent)], 0)).toEqual([sent.length]);
    const stored = await storedBitmap('bits');
    const expected = new BlockBitmap(total);
    for (const index of sent) expected.set(index);
    expect(stored.missingRanges(100)).toEqual(expected.missingRanges(100));
  });

  it('ORs whole chunks in when the new blocks are unknown, keeping what the other instance recorded', async () => {
    const id = await planned('or', 64);
    await b.receipts.commit([blocks(id, [1, 2, 3])], 0);
    // After a failed commit an instance only knows its dirty chunks, which lack the other's blocks.
    const mine = new BlockBitmap(64);
    mine.set(3);
    mine.set(40);
    mine.markAllDirty();
    expect(mine.takeNewBlocks()).toBeNull();
    const entry: ReceiptEntry = { uploadId: id, chunks: mine.takeDirtyChunks(), blocks: null, md5s: [], counters: null };
    expect(await a.receipts.commit([entry], 0)).toEqual([4]);
    expect((await storedBitmap('or')).missingRanges(10)).toEqual([
      [0, 0],
      [4, 39],
      [41, 63],
    ]);
  });

  it('refuses receipts of an upload cancelled or being completed, and writes nothing for them', async () => {
    const cancelled = await planned('cancelled', 8);
    const completing = await planned('completing', 8);
    const live = await planned('live', 8);
    await a.receipts.commit([blocks(completing, [0])], 0);
    expect(await b.receiver.cancel('alice', 'cancelled')).toBe(true);
    await b.ledger.markCompleting(completing, 'd41d8cd98f00b204e9800998ecf8427e', 0);
    expect(await a.receipts.commit([blocks(live, [1]), blocks(cancelled, [1]), blocks(completing, [1])], 0)).toEqual([1, null, null]);
    const rows = await a.db.all<{ upload_id: string; n: number }>(
      `SELECT upload_id, bit_count(bits)::int AS n FROM upload_blocks WHERE upload_id IN (?, ?)`,
      [cancelled, completing],
    );
    expect(rows).toEqual([{ upload_id: completing, n: 1 }]);
  });

  it('commits the receipts of several uploads in one statement: one round trip for a class of lock-step clients', async () => {
    const first = await planned('many-1', BITMAP_CHUNK_BITS + 8);
    const second = await planned('many-2', 64);
    const third = await planned('many-3', 8);
    const cancelled = await planned('many-cancelled', 8);
    expect(await b.receiver.cancel('alice', 'many-cancelled')).toBe(true);
    await b.receipts.commit([blocks(second, [5])], 0);
    const known = new BlockBitmap(64);
    known.set(5);
    known.set(6);
    known.markAllDirty();
    known.takeNewBlocks();
    const sent: string[][] = [];
    const batch = a.db.receiptBatch.bind(a.db);
    vi.spyOn(a.db, 'receiptBatch').mockImplementation((statements) => {
      sent.push(statements.map((statement) => statement.sql));
      return batch(statements);
    });
    const entries: ReceiptEntry[] = [
      // Blocks in two chunks, with a block MD5 kept and one forgotten.
      {
        uploadId: first,
        chunks: [],
        blocks: [BITMAP_CHUNK_BITS + 1, 0, 1],
        md5s: [
          [0, 'd41d8cd98f00b204e9800998ecf8427e'],
          [1, null],
        ],
        counters: 1,
      },
      // Whole chunks OR-ed in (after a failed commit), keeping what the other instance recorded.
      { uploadId: second, chunks: known.takeDirtyChunks(), blocks: null, md5s: [], counters: null },
      blocks(cancelled, [2]),
      blocks(third, []),
    ];
    expect(await a.receipts.commit(entries, 7000)).toEqual([3, 2, null, 0]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(1);
    expect((await storedBitmap('many-1')).missingRanges(10)).toEqual([
      [2, BITMAP_CHUNK_BITS],
      [BITMAP_CHUNK_BITS + 2, BITMAP_CHUNK_BITS + 7],
    ]);
    expect((await storedBitmap('many-2')).count).toBe(2);
    expect(await a.db.all(`SELECT block_index, md5 FROM upload_block_md5s WHERE upload_id = ?`, [first])).toEqual([
      { block_index: 0, md5: 'd41d8cd98f00b204e9800998ecf8427e' },
    ]);
    expect(await a.ledger.findById(first)).toMatchObject({ receivedCount: 3, updatedAt: 7000 });
    expect(await a.db.all(`SELECT upload_id FROM upload_blocks WHERE upload_id = ?`, [cancelled])).toEqual([]);
  });

  it("writes the row's counters (the union's count) only when they are due", async () => {
    const id = await planned('counters', 16);
    const counters = async () => (await a.ledger.findById(id))!;
    await b.receipts.commit([blocks(id, [0, 1])], 1000);
    expect(await counters()).toMatchObject({ receivedCount: 0 });
    await a.receipts.commit([blocks(id, [2], 1)], 5000);
    expect(await counters()).toMatchObject({ receivedCount: 3, updatedAt: 5000, servedBy: a.instances.self });
  });

  it('commits receipts on a connection of their own with synchronous_commit off, and replaces it when it breaks', async () => {
    const setting = `SELECT current_setting('synchronous_commit') AS value, pg_backend_pid() AS pid`;
    const [[receipts]] = (await a.db.receiptBatch([{ sql: setting, params: [] }])) as Array<Array<{ value: string; pid: number }>>;
    expect(receipts.value).toBe('off');
    expect(await a.db.get(setting)).toMatchObject({ value: 'on' });
    await a.db.run(`SELECT pg_terminate_backend(?)`, [receipts.pid]);
    const id = await planned('after', 4);
    let result = await a.receipts.commit([blocks(id, [0])], 0).catch(() => undefined);
    // The receipt sent on the dead connection may fail (nothing acknowledged); the next one reconnects.
    result ??= await a.receipts.commit([blocks(id, [0])], 0);
    expect(result).toEqual([1]);
  });

  it('counts what was recorded before the migration (filled chunks and open ones), down and up again', async () => {
    const total = BITMAP_CHUNK_BITS + 10;
    const id = await planned('migrated', total);
    const firstChunk = Array.from({ length: BITMAP_CHUNK_BITS }, (_, i) => i);
    expect(await a.receipts.commit([blocks(id, [...firstChunk, BITMAP_CHUNK_BITS + 3])], 0)).toEqual([BITMAP_CHUNK_BITS + 1]);
    const dataSource = new DataSource(buildDataSourceOptions(loadConfig({ STEP_DATA_DIR: dataDir, STEP_DATABASE_URL: database.url })));
    await dataSource.initialize();
    try {
      await undoMigrationsThrough(dataSource, 'RecordBlocks');
      // The previous function keeps working where the migration left it.
      const [{ received }] = (await dataSource.query(`SELECT step_record_receipts($1, '{}', '{}', '{}', '{}', 0, 'x') AS received`, [
        id,
      ])) as Array<{ received: number }>;
      expect(received).toBe(BITMAP_CHUNK_BITS + 1);
      await dataSource.runMigrations();
    } finally {
      await dataSource.destroy();
    }
    expect(await b.receipts.commit([blocks(id, [BITMAP_CHUNK_BITS + 4])], 0)).toEqual([BITMAP_CHUNK_BITS + 2]);
    const rest = Array.from({ length: 10 }, (_, i) => BITMAP_CHUNK_BITS + i);
    expect(await a.receipts.commit([blocks(id, rest)], 0)).toEqual([total]);
  });
});
