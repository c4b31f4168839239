import { Injectable } from '@nestjs/common';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { SqlRunner, type SqlStatement } from '../database/sql-runner.js';
import type { BitmapChunk } from './block-bitmap.js';

/** What one upload has to record in a receipt transaction. */
export interface ReceiptEntry {
  uploadId: string;
  /** Bitmap chunks changed since the last receipt. */
  chunks: BitmapChunk[];
  /**
   * The blocks set since the last receipt, or null when only `chunks` can tell (PostgreSQL then
   * ORs them in whole; SQLite always writes `chunks`).
   */
  blocks: number[] | null;
  /** Block MD5s to keep (or, when null, to forget). */
  md5s: Array<[number, string | null]>;
  /**
   * This instance's received count when the row's counters are due, else null. PostgreSQL writes
   * the count of every instance's receipts instead.
   */
  counters: number | null;
}

/**
 * What the database says after a receipt: the number of blocks all instances together recorded,
 * `null` when the upload is no longer being uploaded (cancelled, restarted or completed by
 * another instance), `undefined` when only this process records receipts (its bitmap is the truth).
 */
export type ReceiptResult = number | null | undefined;

// Guarded by EXISTS so a block landing after its upload was cancelled writes nothing.
const UPSERT_CHUNK = `
  INSERT INTO upload_blocks (upload_id, chunk, bits)
  SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
  ON CONFLICT (upload_id, chunk) DO UPDATE SET bits = excluded.bits`;
/** A chunk row stored before: rewritten in place (only rows of existing uploads exist, see ON DELETE CASCADE). */
const UPDATE_CHUNK = `UPDATE upload_blocks SET bits = ? WHERE upload_id = ? AND chunk = ?`;
const UPSERT_BLOCK_MD5 = `
  INSERT INTO upload_block_md5s (upload_id, block_index, md5)
  SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
  ON CONFLICT (upload_id, block_index) DO UPDATE SET md5 = excluded.md5`;
const DELETE_BLOCK_MD5 = `DELETE FROM upload_block_md5s WHERE upload_id = ? AND block_index = ?`;
const UPDATE_PROGRESS = `UPDATE uploads SET received_count = ?, updated_at = ? WHERE id = ? AND state = 'uploading'`;
/** See migration RecordBlocks1764600000000: new blocks' bits, block MD5s and the exact count in one call. */
const RECORD_BLOCKS = `SELECT step_record_blocks(?, ?, ?, ?, ?, ?, ?, ?) AS received`;
/**
 * The receipts of several uploads in one statement (one transaction, one round trip): one call
 * per upload, in the order given (the lock order), each upload's arrays as array literals (they
 * differ in length, which a two-dimensional array cannot hold).
 */
const RECORD_MANY = `
  SELECT step_record_blocks(u, b::integer[], c::integer[], x::bytea[], mb::integer[], m::varchar[], t, ?) AS received
    FROM unnest(?::varchar[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[]) WITH ORDINALITY AS r(u, b, c, x, mb, m, t, n)
   ORDER BY n`;

/**
 * Writes receipts: one transaction for every upload of a batch.
 *
 * SQLite (one process): a chunk row is overwritten with the bitmap in memory, which is the whole
 * truth; a WAL commit with synchronous=NORMAL survives a crash of stepd (not a power cut, which
 * may lose the last receipts: STATUS then reports those blocks missing and the client re-sends).
 *
 * PostgreSQL (several instances): the bits of the new blocks are set in the stored chunks (or
 * whole chunks OR-ed in), so two instances receiving blocks of one upload record the union, and
 * the result is the union's count. Receipts commit with synchronous_commit off, on the runner's
 * receipts connection: a crash of stepd loses nothing, since the commit reached PostgreSQL before
 * the acknowledgement; a crash of PostgreSQL may lose the last receipts (at most 3 x
 * wal_writer_delay, 600 ms by default), with the same outcome as above. Completion commits stay
 * synchronous. The uploads of a batch go in id order: every receipt locks its upload's row, and
 * two instances locking the same rows in the same order never deadlock.
 */
@Injectable()
export class UploadReceipts {
  constructor(
    private readonly db: SqlRunner,
    private readonly instances: InstanceRegistry,
  ) {}

  /** Commits every entry in one transaction; one result per entry, in order. */
  async commit(entries: readonly ReceiptEntry[], now: number): Promise<ReceiptResult[]> {
    if (this.db.kind === 'postgres') {
      const order = entries.map((_, i) => i).sort((x, y) => compareIds(entries[x].uploadId, entries[y].uploadId));
      const calls = order.map((i) => this.recordCall(entries[i], now));
      const [rows] = await this.db.receiptBatch([calls.length === 1 ? calls[0] : recordMany(calls, this.instances.self)]);
      const results: ReceiptResult[] = new Array(entries.length);
      order.forEach((entry, i) => (results[entry] = (rows[i] as { received: number | null }).received));
      return results;
    }
    if (await this.updatedInPlace(entries)) return [undefined];
    const statements: SqlStatement[] = [];
    for (const { uploadId, chunks, md5s, counters } of entries) {
      for (const { chunk, bits } of chunks) statements.push({ sql: UPSERT_CHUNK, params: [uploadId, chunk, bits, uploadId] });
      for (const [index, md5] of md5s) {
        statements.push(
          md5 === null
            ? { sql: DELETE_BLOCK_MD5, params: [uploadId, index] }
            : { sql: UPSERT_BLOCK_MD5, params: [uploadId, index, md5, uploadId] },
        );
      }
      if (counters !== null) statements.push({ sql: UPDATE_PROGRESS, params: [counters, now, uploadId] });
    }
    await this.db.batch(statements);
    return entries.map(() => undefined);
  }

  /**
   * The receipt of a lock-step client is most often one block of one upload, in a chunk whose row
   * exists since the chunk's first block: a plain UPDATE by primary key does it. It changes no
   * row when the chunk is new or the upload is gone; the guarded upsert then decides.
   */
  private async updatedInPlace(entries: readonly ReceiptEntry[]): Promise<boolean> {
    if (entries.length !== 1) return false;
    const { uploadId, chunks, md5s, counters } = entries[0];
    if (chunks.length !== 1 || md5s.length !== 0 || counters !== null) return false;
    return (await this.db.run(UPDATE_CHUNK, [chunks[0].bits, uploadId, chunks[0].chunk])) === 1;
  }

  private recordCall({ uploadId, chunks, blocks, md5s, counters }: ReceiptEntry, now: number): SqlStatement {
    return {
      sql: RECORD_BLOCKS,
      params: [
        uploadId,
        // Sorted: the function updates each chunk once per run of its blocks.
        blocks ? blocks.slice().sort((x, y) => x - y) : [],
        blocks ? [] : chunks.map((c) => c.chunk),
        // Copies: the bitmap may change before the query is sent.
        blocks ? [] : chunks.map((c) => Buffer.from(c.bits)),
        md5s.map(([index]) => index),
        md5s.map(([, md5]) => md5),
        counters === null ? null : now,
        this.instances.self,
      ],
    };
  }
}

/** Several RECORD_BLOCKS calls as one RECORD_MANY statement. */
function recordMany(calls: readonly SqlStatement[], instance: string): SqlStatement {
  const column = (at: number, literal: (value: never) => string) => calls.map((call) => literal(call.params[at] as never));
  return {
    sql: RECORD_MANY,
    params: [
      instance,
      calls.map((call) => call.params[0]),
      column(1, (blocks: number[]) => `{${blocks.join(',')}}`),
      column(2, (chunks: number[]) => `{${chunks.join(',')}}`),
      // bytea hex input, quoted: inside an array literal a backslash is written twice.
      column(3, (bits: Buffer[]) => `{${bits.map((chunk) => `"\\\\x${chunk.toString('hex')}"`).join(',')}}`),
      column(4, (indexes: number[]) => `{${indexes.join(',')}}`),
      // Block MD5s are hex digests, written as they are; NULL forgets one.
      column(5, (md5s: Array<string | null>) => `{${md5s.map((md5) => md5 ?? 'NULL').join(',')}}`),
      calls.map((call) => call.params[6]),
    ],
  };
}

/** The order of two upload ids (uuids), the lock order of a receipt batch on every instance. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
