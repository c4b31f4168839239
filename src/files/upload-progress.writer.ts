import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SqliteWriter } from '../database/sqlite-writer.js';
import type { ActiveUpload } from './active-upload.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

// Guarded by EXISTS so a block landing after its upload was cancelled writes nothing.
const UPSERT_CHUNK = `
  INSERT INTO upload_blocks (upload_id, chunk, bits)
  SELECT @id, @chunk, @bits WHERE EXISTS (SELECT 1 FROM uploads WHERE id = @id)
  ON CONFLICT (upload_id, chunk) DO UPDATE SET bits = excluded.bits`;
const UPSERT_BLOCK_MD5 = `
  INSERT INTO upload_block_md5s (upload_id, block_index, md5)
  SELECT @id, @index, @md5 WHERE EXISTS (SELECT 1 FROM uploads WHERE id = @id)
  ON CONFLICT (upload_id, block_index) DO UPDATE SET md5 = excluded.md5`;
const DELETE_BLOCK_MD5 = `DELETE FROM upload_block_md5s WHERE upload_id = ? AND block_index = ?`;
const UPDATE_PROGRESS = `UPDATE uploads SET received_count = ?, updated_at = ? WHERE id = ? AND state = 'uploading'`;
/**
 * The row's counters are for people and the expiry job (last activity); the bitmap is what
 * acknowledgements rely on. Writing them at most this often saves a statement per block.
 */
const COUNTERS_INTERVAL_MS = 1000;

/**
 * Records received blocks in SQLite, coalescing every block that lands in the same event-loop
 * turn into one transaction. A block is acknowledged only once the promise `record` returned
 * resolves, so no acknowledged block is ever forgotten, yet the database is not the bottleneck.
 */
@Injectable()
export class UploadProgressWriter {
  private readonly pending = new Set<ActiveUpload>();
  private waiters: Waiter[] = [];
  private scheduled = false;

  constructor(
    private readonly sqlite: SqliteWriter,
    private readonly clock: Clock,
  ) {}

  /** Resolves when the upload's current progress is committed. */
  record(upload: ActiveUpload): Promise<void> {
    this.pending.add(upload);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything pending now, counters included for `uploads` (completion, shutdown). */
  flushNow(uploads: Iterable<ActiveUpload> = []): void {
    for (const upload of uploads) {
      upload.countersWrittenAt = 0;
      this.pending.add(upload);
    }
    this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    const uploads = [...this.pending];
    const waiters = this.waiters;
    this.pending.clear();
    this.waiters = [];
    if (uploads.length === 0 && waiters.length === 0) return;
    const now = this.clock.now();
    try {
      this.sqlite.transaction(() => {
        for (const upload of uploads) {
          if (upload.state === 'cancelled') continue;
          for (const { chunk, bits } of upload.bitmap.takeDirtyChunks()) {
            this.sqlite.statement(UPSERT_CHUNK).run({ id: upload.id, chunk, bits });
          }
          for (const [index, md5] of upload.takePendingBlockMd5s()) {
            if (md5 === null) this.sqlite.statement(DELETE_BLOCK_MD5).run(upload.id, index);
            else this.sqlite.statement(UPSERT_BLOCK_MD5).run({ id: upload.id, index, md5 });
          }
          if (now - upload.countersWrittenAt >= COUNTERS_INTERVAL_MS) {
            this.sqlite.statement(UPDATE_PROGRESS).run(upload.bitmap.count, now, upload.id);
            upload.countersWrittenAt = now;
          }
        }
      });
    } catch (err) {
      // Nothing of this batch is committed: make the next flush write every chunk again.
      for (const upload of uploads) upload.bitmap.markAllDirty();
      for (const waiter of waiters) waiter.reject(err);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
