import { Injectable } from '@nestjs/common';
import { SqlRunner } from '../database/sql-runner.js';

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

/** Totals over every upload, as the metrics gauges show them. */
export interface StorageTotals {
  bytesUsed: number;
  inProgress: number;
}

const TOTALS_SQL = `SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS "bytesUsed",
  COUNT(CASE WHEN state IN ('uploading', 'completing') THEN 1 END) AS "inProgress" FROM uploads`;

/** Read-only views of the `uploads` table for LIST, the admin API and the metrics. */
@Injectable()
export class UploadListings {
  constructor(private readonly db: SqlRunner) {}

  /** Complete files of a user under a key prefix, in key order from after `after`. */
  async listComplete(username: string, prefix: string, limit: number, after = ''): Promise<FileListing[]> {
    const rows = await this.db.all<{ key: string; size: number; md5: string; completed_at: number }>(
      `SELECT key, size, md5, completed_at FROM uploads
       WHERE username = ? AND state = 'complete' AND substr(key, 1, length(?)) = ? AND key > ?
       ORDER BY key LIMIT ?`,
      [username, prefix, prefix, after, limit],
    );
    return rows.map((r) => ({ key: r.key, size: r.size, md5: r.md5, created_at: new Date(r.completed_at).toISOString() }));
  }

  /** Unfinished uploads of a user (what STATUS can resume), like listComplete; counts may lag a moment. */
  async listUploading(username: string, prefix: string, limit: number, after = ''): Promise<UploadListing[]> {
    const rows = await this.db.all<{
      key: string;
      size: number;
      total_block: number;
      received_count: number;
      created_at: number;
      updated_at: number;
    }>(
      `SELECT key, size, total_block, received_count, created_at, updated_at FROM uploads
       WHERE username = ? AND state = 'uploading' AND substr(key, 1, length(?)) = ? AND key > ?
       ORDER BY key LIMIT ?`,
      [username, prefix, prefix, after, limit],
    );
    return rows.map((r) => ({
      key: r.key,
      size: r.size,
      total_block: r.total_block,
      received_count: r.received_count,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
    }));
  }

  /** Bytes of every stored and reserved file, and the uploads not yet complete. */
  async totals(): Promise<StorageTotals> {
    const row = await this.db.get<StorageTotals>(TOTALS_SQL);
    return { bytesUsed: Number(row?.bytesUsed ?? 0), inProgress: Number(row?.inProgress ?? 0) };
  }
}
