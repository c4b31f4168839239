import { Injectable } from '@nestjs/common';
import { SqlRunner } from '../database/sql-runner.js';
import { BlockBitmap, type BitmapChunk } from './block-bitmap.js';
import type { UploadEntity, UploadState } from './entities/upload.entity.js';

/** A stored key as the download path needs it (one prepared statement per block). */
export interface StoredFileRow {
  id: string;
  size: number;
  block_size: number;
  state: UploadState;
  storage_name: string;
  md5: string | null;
}

/** Columns of an `uploads` row, in the entity's property names (quoted: PostgreSQL folds bare aliases). */
const UPLOAD_COLUMNS = `id, username, key, size, block_size AS "blockSize", total_block AS "totalBlock", state,
  received_count AS "receivedCount", storage_name AS "storageName", md5, created_at AS "createdAt",
  updated_at AS "updatedAt", completed_at AS "completedAt", served_by AS "servedBy"`;

/** Bitmap chunks as PostgreSQL returns them: bit strings as text, most significant bit of each byte first. */
function chunkFromBitString(row: { chunk: number; bits: string }): BitmapChunk {
  const bits = Buffer.alloc(row.bits.length >> 3);
  for (let byte = 0; byte < bits.length; byte++) bits[byte] = parseInt(row.bits.slice(byte * 8, byte * 8 + 8), 2);
  return { chunk: row.chunk, bits };
}

/**
 * Every read and write of the `uploads`, `upload_blocks` and `upload_block_md5s` tables except
 * receipts (UploadReceipts) and listings (UploadListings): the services hold the rules, this
 * class the SQL, portable between SQLite and PostgreSQL except where `kind` says otherwise.
 */
@Injectable()
export class UploadLedger {
  constructor(private readonly db: SqlRunner) {}

  /**
   * True when another process may record receipts of the same upload (several instances on one
   * database): the bitmap in memory is then only this instance's part of the truth.
   */
  get sharedReceipts(): boolean {
    return this.db.kind === 'postgres';
  }

  /** The row of a user's key, optionally only in one state. */
  async find(username: string, key: string, state?: UploadState): Promise<UploadEntity | null> {
    const row = await this.db.get<UploadEntity>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE username = ? AND key = ?`, [username, key]);
    return row && (!state || row.state === state) ? row : null;
  }

  /** The row with this id. */
  async findById(id: string): Promise<UploadEntity | null> {
    return (await this.db.get<UploadEntity>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = ?`, [id])) ?? null;
  }

  /** The row of a user's key for the download path. */
  findStored(username: string, key: string): Promise<StoredFileRow | undefined> {
    return this.db.get<StoredFileRow>(`SELECT id, size, block_size, state, storage_name, md5 FROM uploads WHERE username = ? AND key = ?`, [
      username,
      key,
    ]);
  }

  /** Inserts a new upload row (a unique violation when the key got a row meanwhile). */
  async insert(row: UploadEntity): Promise<void> {
    await this.db.run(
      `INSERT INTO uploads (id, username, key, size, block_size, total_block, state, received_count, storage_name, md5,
         created_at, updated_at, completed_at, served_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.id,
        row.username,
        row.key,
        row.size,
        row.blockSize,
        row.totalBlock,
        row.state,
        row.receivedCount,
        row.storageName,
        row.md5,
        row.createdAt,
        row.updatedAt,
        row.completedAt,
        row.servedBy,
      ],
    );
  }

  /** True when `err` says a row with the same unique key exists (e.g. another instance inserted it). */
  isUniqueViolation(err: unknown): boolean {
    return this.db.isUniqueViolation(err);
  }

  /** Records that `instance` serves the upload now (recovery and expiry of other instances leave it alone). */
  async markServedBy(id: string, instance: string): Promise<void> {
    await this.db.run(`UPDATE uploads SET served_by = ? WHERE id = ?`, [instance, id]);
  }

  /** Unfinished uploads of one user. */
  async countUploading(username: string): Promise<number> {
    const row = await this.db.get<{ total: number }>(`SELECT COUNT(*) AS total FROM uploads WHERE username = ? AND state = 'uploading'`, [
      username,
    ]);
    return Number(row?.total ?? 0);
  }

  /** Bytes a user has stored or reserved, leaving out one row (the upload being restarted). */
  async bytesOfUser(username: string, excludeId = ''): Promise<number> {
    const row = await this.db.get<{ total: number }>(
      `SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM uploads WHERE username = ? AND id != ?`,
      [username, excludeId],
    );
    return Number(row?.total ?? 0);
  }

  /** Uploads a crash may have interrupted (also what the operators list), most recently active first. */
  listUnfinished(): Promise<UploadEntity[]> {
    return this.db.all<UploadEntity>(
      `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE state IN ('uploading', 'completing') ORDER BY updated_at DESC`,
    );
  }

  /** Uploads with no activity since `cutoff` (epoch ms). */
  listIdleSince(cutoff: number): Promise<UploadEntity[]> {
    return this.db.all<UploadEntity>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE state = 'uploading' AND updated_at < ?`, [cutoff]);
  }

  /** Storage names of every row, whatever its state (for the orphan sweep). */
  async listStorageNames(): Promise<Set<string>> {
    const rows = await this.db.all<{ storage_name: string }>(`SELECT storage_name FROM uploads`);
    return new Set(rows.map((row) => row.storage_name));
  }

  /** The received-block bitmap as stored (every instance's receipts; exact, unlike the row's counters). */
  async loadBitmap(row: UploadEntity): Promise<BlockBitmap> {
    const chunks =
      this.db.kind === 'postgres'
        ? (
            await this.db.all<{ chunk: number; bits: string }>(`SELECT chunk, bits::text AS bits FROM upload_blocks WHERE upload_id = ?`, [
              row.id,
            ])
          ).map(chunkFromBitString)
        : await this.db.all<BitmapChunk>(`SELECT chunk, bits FROM upload_blocks WHERE upload_id = ?`, [row.id]);
    return BlockBitmap.fromChunks(row.totalBlock, chunks);
  }

  /**
   * The bitmap STATUS and completion must trust for an upload held in memory: the one in memory,
   * merged with the receipts of the other instances when there can be any.
   */
  async currentBitmap(row: UploadEntity, inMemory: BlockBitmap): Promise<BlockBitmap> {
    if (this.sharedReceipts) inMemory.merge(await this.loadBitmap(row));
    return inMemory;
  }

  /** The MD5 the uploader declared for a block (docs/protocol.md §6), if any. */
  async blockMd5(uploadId: string, index: number): Promise<string | undefined> {
    const row = await this.db.get<{ md5: string }>(`SELECT md5 FROM upload_block_md5s WHERE upload_id = ? AND block_index = ?`, [
      uploadId,
      index,
    ]);
    return row?.md5;
  }

  /** Records `completing` with the MD5 before the rename, so recovery knows what to finish. */
  async markCompleting(id: string, md5: string, now: number): Promise<void> {
    await this.db.run(`UPDATE uploads SET state = 'completing', md5 = ?, received_count = total_block, updated_at = ? WHERE id = ?`, [
      md5,
      now,
      id,
    ]);
  }

  /** Records that the renamed file is visible; its bitmap is no longer needed. */
  async markComplete(id: string, now: number): Promise<void> {
    await this.db.batch([
      { sql: `UPDATE uploads SET state = 'complete', completed_at = ?, updated_at = ? WHERE id = ?`, params: [now, now, id] },
      { sql: `DELETE FROM upload_blocks WHERE upload_id = ?`, params: [id] },
    ]);
  }

  /** Makes a `completing` upload resumable again (its file was not renamed). */
  async revertCompleting(id: string): Promise<void> {
    await this.db.run(`UPDATE uploads SET state = 'uploading', md5 = NULL WHERE id = ? AND state = 'completing'`, [id]);
  }

  /** Deletes an unfinished upload's row by id; false when no such unfinished row was there. */
  async deleteUnfinished(id: string): Promise<boolean> {
    return (await this.db.run(`DELETE FROM uploads WHERE id = ? AND state IN ('uploading', 'completing')`, [id])) === 1;
  }

  /** Deletes a row (its bitmap and block MD5s cascade). */
  async delete(id: string): Promise<void> {
    await this.db.run(`DELETE FROM uploads WHERE id = ?`, [id]);
  }
}
