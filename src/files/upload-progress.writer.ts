import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SqliteWriter } from '../database/sqlite-writer.js';
import type { ActiveUpload } from './active-upload.js';

/** The receipts of one event-loop turn: every caller waits on the same commit. */
interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

// Guarded by EXISTS so a block landing after its upload was cancelled writes nothing.
// Positional parameters: binding an object by name costs a property lookup per parameter.
const UPSERT_CHUNK = `
  INSERT INTO upload_blocks (upload_id, chunk, bits)
  SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
  ON CONFLICT (upload_id, chunk) DO UPDATE SET bits = excluded.bits`;
const UPSERT_BLOCK_MD5 = `
  INSERT INTO upload_block_md5s (upload_id, block_index, md5)
  SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)
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
  private batch: Batch | null = null;

  constructor(
    private readonly sqlite: SqliteWriter,
    private readonly clock: Clock,
  ) {}

  /** Resolves when the upload's current progress is committed. */
  record(upload: ActiveUpload): Promise<void> {
    this.pending.add(upload);
    if (!this.batch) {
      let settle!: Pick<Batch, 'resolve' | 'reject'>;
      const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      this.batch = { promise, ...settle };
      setImmediate(this.flushScheduled);
    }
    return this.batch.promise;
  }

  /** Commits everything pending now, counters included for `uploads` (completion, shutdown). */
  flushNow(uploads: Iterable<ActiveUpload> = []): void {
    for (const upload of uploads) {
      upload.countersWrittenAt = 0;
      this.pending.add(upload);
    }
    this.flush();
  }

  private readonly flushScheduled = () => {
    if (this.batch) this.flush();
  };

  private flush(): void {
    const batch = this.batch;
    this.batch = null;
    if (this.pending.size === 0 && !batch) return;
    const uploads = [...this.pending];
    this.pending.clear();
    const now = this.clock.now();
    try {
      this.sqlite.transaction(() => {
        for (const upload of uploads) {
          if (upload.state === 'cancelled') continue;
          for (const { chunk, bits } of upload.bitmap.takeDirtyChunks()) {
            this.sqlite.statement(UPSERT_CHUNK).run(upload.id, chunk, bits, upload.id);
          }
          for (const [index, md5] of upload.takePendingBlockMd5s()) {
            if (md5 === null) this.sqlite.statement(DELETE_BLOCK_MD5).run(upload.id, index);
            else this.sqlite.statement(UPSERT_BLOCK_MD5).run(upload.id, index, md5, upload.id);
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
      batch?.reject(err);
      return;
    }
    batch?.resolve();
  }
}
