import { Injectable } from '@nestjs/common';
import { SqlRunner } from '../database/sql-runner.js';

/** Who hashes an upload shared by several instances (migration CreateUploadHashing1764700000000). */
export interface UploadHashingRow {
  /** The instance whose prefix MD5 counts; null when none can be trusted (hash the file). */
  owner: string | null;
  /** Blocks the owner had hashed when it last said so. */
  hashed: number;
  /** The owner's digest, once it handed it over. */
  md5: string | null;
}

// Guarded by EXISTS: nothing is recorded for an upload that is gone (cancelled, restarted).
const CLAIM = `
  INSERT INTO upload_hashing (upload_id, owner, hashed)
  SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
  ON CONFLICT (upload_id) DO UPDATE SET owner = excluded.owner, hashed = excluded.hashed
    WHERE upload_hashing.owner = excluded.owner
       OR (upload_hashing.owner IS NOT NULL AND upload_hashing.hashed + ? <= excluded.hashed)`;
const DISTRUST = `
  INSERT INTO upload_hashing (upload_id, owner, hashed)
  SELECT ?, NULL, 0 WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
  ON CONFLICT (upload_id) DO UPDATE SET owner = NULL, md5 = NULL`;
const SELECT = `SELECT owner, hashed, md5 FROM upload_hashing WHERE upload_id = ?`;

/**
 * The SQL of `upload_hashing`, which exists only where several instances share one database
 * (PostgreSQL); SharedPrefixHash calls nothing here otherwise.
 */
@Injectable()
export class UploadHashing {
  constructor(private readonly db: SqlRunner) {}

  /**
   * Says that `instance` has hashed `hashed` blocks of the upload, and makes it the owner if
   * there is none yet or the owner is behind by `lead` blocks or more (never when the row says
   * nobody can be trusted). Resolves to the row as it is now; undefined when the upload is gone.
   */
  async claim(uploadId: string, instance: string, hashed: number, lead: number): Promise<UploadHashingRow | undefined> {
    const [, rows] = await this.db.batch([
      { sql: CLAIM, params: [uploadId, instance, hashed, uploadId, lead] },
      { sql: SELECT, params: [uploadId] },
    ]);
    return rows[0] as UploadHashingRow | undefined;
  }

  /** Records that no instance's prefix MD5 can be trusted (a block was written twice). */
  async distrust(uploadId: string): Promise<void> {
    await this.db.run(DISTRUST, [uploadId, uploadId]);
  }

  /** The row of an upload, undefined when no instance claimed it. */
  find(uploadId: string): Promise<UploadHashingRow | undefined> {
    return this.db.get<UploadHashingRow>(SELECT, [uploadId]);
  }

  /** Hands the owner's digest over; false when `owner` no longer owns the upload. */
  async handOver(uploadId: string, owner: string, md5: string): Promise<boolean> {
    return (await this.db.run(`UPDATE upload_hashing SET md5 = ? WHERE upload_id = ? AND owner = ?`, [md5, uploadId, owner])) === 1;
  }

  /** Forgets the row of a finished upload. */
  async forget(uploadId: string): Promise<void> {
    await this.db.run(`DELETE FROM upload_hashing WHERE upload_id = ?`, [uploadId]);
  }
}
