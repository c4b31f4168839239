import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThan, type Repository } from 'typeorm';
import { SqliteWriter } from '../database/sqlite-writer.js';
import { BlockBitmap, type BitmapChunk } from './block-bitmap.js';
import { UploadEntity, type UploadState } from './entities/upload.entity.js';

/** A stored key as the download path needs it (one prepared statement per block). */
export interface StoredFileRow {
  id: string;
  size: number;
  block_size: number;
  state: UploadState;
  storage_name: string;
  md5: string | null;
}

/** Columns of an `uploads` row, in the entity's property names. */
const UPLOAD_COLUMNS = `id, username, key, size, block_size AS blockSize, total_block AS totalBlock, state,
  received_count AS receivedCount, storage_name AS storageName, md5, created_at AS createdAt, updated_at AS updatedAt,
  completed_at AS completedAt`;

/** An unfinished upload as `LIST` with `incomplete` shows it. */
export interface UploadListing {
  key: string;
  size: number;
  total_block: number;
  received_count: number;
  created_at: string;
  updated_at: string;
}

/** A complete file as LIST shows it. */
export interface FileListing {
  key: string;
  size: number;
  md5: string;
  created_at: string;
}

/**
 * Every read and write of the `uploads` and `upload_blocks` tables: the services hold the rules,
 * this class the SQL. Single statements are atomic; the two-statement completion runs in one
 * synchronous transaction (see SqliteWriter for why stepd opens no TypeORM transactions).
 */
@Injectable()
export class UploadLedger {
  constructor(
    @InjectRepository(UploadEntity) private readonly uploads: Repository<UploadEntity>,
    private readonly sqlite: SqliteWriter,
  ) {}

  /** The row of a user's key, optionally only in one state (a prepared statement: STATUS and UPLOAD ask often). */
  find(username: string, key: string, state?: UploadState): UploadEntity | null {
    const row = this.sqlite.statement(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE username = ? AND key = ?`).get(username, key) as
      UploadEntity | undefined;
    return row && (!state || row.state === state) ? row : null;
  }

  /** The row with this id. */
  findById(id: string): UploadEntity | null {
    return (this.sqlite.statement(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = ?`).get(id) as UploadEntity | undefined) ?? null;
  }

  /** The row of a user's key for the download path (synchronous, prepared). */
  findStored(username: string, key: string): StoredFileRow | undefined {
    return this.sqlite
      .statement(`SELECT id, size, block_size, state, storage_name, md5 FROM uploads WHERE username = ? AND key = ?`)
      .get(username, key) as StoredFileRow | undefined;
  }

  /** Inserts a new upload row. */
  async insert(row: UploadEntity): Promise<void> {
    await this.uploads.insert(row);
  }

  /** Unfinished uploads of one user. */
  countUploading(username: string): Promise<number> {
    return this.uploads.countBy({ username, state: 'uploading' });
  }

  /** Bytes a user has stored or reserved, leaving out one row (the upload being restarted). */
  bytesOfUser(username: string, excludeId = ''): number {
    return (
      this.sqlite
        .statement(`SELECT COALESCE(SUM(size), 0) AS total FROM uploads WHERE username = ? AND id != ?`)
        .get(username, excludeId) as { total: number }
    ).total;
  }

  /** Bytes of every stored and reserved file. */
  bytesUsed(): number {
    return (this.sqlite.statement(`SELECT COALESCE(SUM(size), 0) AS total FROM uploads`).get() as { total: number }).total;
  }

  /** Uploads not yet complete. */
  countInProgress(): number {
    return (
      this.sqlite.statement(`SELECT COUNT(*) AS total FROM uploads WHERE state IN ('uploading', 'completing')`).get() as { total: number }
    ).total;
  }

  /** Uploads not yet complete, most recently active first. */
  listInProgress(): Promise<UploadEntity[]> {
    return this.uploads.find({ where: { state: In(['uploading', 'completing']) }, order: { updatedAt: 'DESC' } });
  }

  /** Uploads a crash may have interrupted. */
  listUnfinished(): Promise<UploadEntity[]> {
    return this.uploads.find({ where: { state: In(['completing', 'uploading']) } });
  }

  /** Uploads with no activity since `cutoff` (epoch ms). */
  listIdleSince(cutoff: number): Promise<UploadEntity[]> {
    return this.uploads.find({ where: { state: 'uploading', updatedAt: LessThan(cutoff) } });
  }

  /** Storage names of every row, whatever its state (for the orphan sweep). */
  async listStorageNames(): Promise<Set<string>> {
    const rows = this.sqlite.statement(`SELECT storage_name FROM uploads`).all() as Array<{ storage_name: string }>;
    return new Set(rows.map((row) => row.storage_name));
  }

  /** Complete files of a user under a key prefix, in key order from after `after`. */
  listComplete(username: string, prefix: string, limit: number, after = ''): FileListing[] {
    const rows = this.sqlite
      .statement(
        `SELECT key, size, md5, completed_at FROM uploads
         WHERE username = ? AND state = 'complete' AND substr(key, 1, length(?)) = ? AND key > ?
         ORDER BY key LIMIT ?`,
      )
      .all(username, prefix, prefix, after, limit) as Array<{ key: string; size: number; md5: string; completed_at: number }>;
    return rows.map((r) => ({ key: r.key, size: r.size, md5: r.md5, created_at: new Date(r.completed_at).toISOString() }));
  }

  /** Unfinished uploads of a user (what STATUS can resume), like listComplete; counts may lag a moment. */
  listUploading(username: string, prefix: string, limit: number, after = ''): UploadListing[] {
    const rows = this.sqlite
      .statement(
        `SELECT key, size, total_block, received_count, created_at, updated_at FROM uploads
         WHERE username = ? AND state = 'uploading' AND substr(key, 1, length(?)) = ? AND key > ?
         ORDER BY key LIMIT ?`,
      )
      .all(username, prefix, prefix, after, limit) as Array<{
      key: string;
      size: number;
      total_block: number;
      received_count: number;
      created_at: number;
      updated_at: number;
    }>;
    return rows.map((r) => ({
      key: r.key,
      size: r.size,
      total_block: r.total_block,
      received_count: r.received_count,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
    }));
  }

  /** The received-block bitmap as stored (exact, unlike the row's counters). */
  loadBitmap(row: UploadEntity): BlockBitmap {
    const chunks = this.sqlite.statement(`SELECT chunk, bits FROM upload_blocks WHERE upload_id = ?`).all(row.id) as BitmapChunk[];
    return BlockBitmap.fromChunks(row.totalBlock, chunks);
  }

  /** The MD5 the uploader declared for a block (docs/protocol.md §6), if any. */
  blockMd5(uploadId: string, index: number): string | undefined {
    const row = this.sqlite.statement(`SELECT md5 FROM upload_block_md5s WHERE upload_id = ? AND block_index = ?`).get(uploadId, index) as
      { md5: string } | undefined;
    return row?.md5;
  }

  /** Records `completing` with the MD5 before the rename, so recovery knows what to finish. */
  markCompleting(id: string, md5: string, now: number): void {
    this.sqlite
      .statement(`UPDATE uploads SET state = 'completing', md5 = ?, received_count = total_block, updated_at = ? WHERE id = ?`)
      .run(md5, now, id);
  }

  /** Records that the renamed file is visible; its bitmap is no longer needed. */
  markComplete(id: string, now: number): void {
    this.sqlite.transaction(() => {
      this.sqlite.statement(`UPDATE uploads SET state = 'complete', completed_at = ?, updated_at = ? WHERE id = ?`).run(now, now, id);
      this.sqlite.statement(`DELETE FROM upload_blocks WHERE upload_id = ?`).run(id);
    });
  }

  /** Makes a `completing` upload resumable again (its file was not renamed). */
  revertCompleting(id: string): void {
    this.sqlite.statement(`UPDATE uploads SET state = 'uploading', md5 = NULL WHERE id = ? AND state = 'completing'`).run(id);
  }

  /** Deletes an unfinished upload's row by id; false when no such unfinished row was there. */
  deleteUnfinished(id: string): boolean {
    return this.sqlite.statement(`DELETE FROM uploads WHERE id = ? AND state IN ('uploading', 'completing')`).run(id).changes === 1;
  }

  /** Deletes a row (its bitmap and block MD5s cascade). */
  delete(id: string): void {
    this.sqlite.statement(`DELETE FROM uploads WHERE id = ?`).run(id);
  }
}
