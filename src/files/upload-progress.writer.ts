import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import type { ActiveUpload } from './active-upload.js';
import { UploadReceipts, type ReceiptEntry } from './upload-receipts.repository.js';

/** The receipts waiting for one commit: every caller waits on the same one. */
interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The row's counters are for people and the expiry job (last activity); the bitmap is what
 * acknowledgements rely on. Writing them at most this often saves a statement per block.
 */
const COUNTERS_INTERVAL_MS = 1000;

/**
 * Records received blocks, coalescing the receipts of every upload into one transaction (a
 * group commit): the blocks that land in one event-loop turn share a commit, and while a commit
 * is in flight (PostgreSQL: a round trip) the next batch accumulates and follows it. A block is
 * acknowledged only once the promise `record` returned resolves, so no acknowledged block is ever
 * forgotten, yet the database is not the bottleneck.
 */
@Injectable()
export class UploadProgressWriter {
  private readonly pending = new Set<ActiveUpload>();
  private batch: Batch | null = null;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly receipts: UploadReceipts,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves when the upload's current progress is committed. Then `upload.recordedCount` holds
   * the database's count of its blocks, and an upload the database no longer has as uploading
   * (another instance cancelled, restarted or completed it) is `cancelled` and `detached`.
   */
  record(upload: ActiveUpload): Promise<void> {
    this.pending.add(upload);
    if (!this.batch) {
      let settle!: Pick<Batch, 'resolve' | 'reject'>;
      const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      this.batch = { promise, ...settle };
      if (!this.inflight) setImmediate(this.flushScheduled);
    }
    return this.batch.promise;
  }

  /** Commits everything pending, counters included for `uploads` (completion, shutdown). */
  async flushNow(uploads: Iterable<ActiveUpload> = []): Promise<void> {
    for (const upload of uploads) {
      upload.countersWrittenAt = 0;
      this.pending.add(upload);
    }
    while (this.inflight) await this.inflight.catch(() => undefined);
    await this.flush();
  }

  private readonly flushScheduled = () => {
    if (this.batch && !this.inflight) void this.flush().catch(() => undefined);
  };

  private flush(): Promise<void> {
    const batch = this.batch;
    this.batch = null;
    if (this.pending.size === 0 && !batch) return Promise.resolve();
    const uploads = [...this.pending].filter((upload) => upload.state !== 'cancelled');
    this.pending.clear();
    const now = this.clock.now();
    const entries: ReceiptEntry[] = uploads.map((upload) => {
      const countersDue = now - upload.countersWrittenAt >= COUNTERS_INTERVAL_MS;
      if (countersDue) upload.countersWrittenAt = now;
      return {
        uploadId: upload.id,
        chunks: upload.bitmap.takeDirtyChunks(),
        blocks: upload.bitmap.takeNewBlocks(),
        md5s: upload.takePendingBlockMd5s(),
        counters: countersDue ? upload.bitmap.count : null,
      };
    });
    const run = this.receipts.commit(entries, now).then(
      (results) => {
        results.forEach((result, i) => {
          if (result === null) uploads[i].detach();
          else if (result !== undefined) uploads[i].recordedCount = Math.max(uploads[i].recordedCount, result);
        });
        batch?.resolve();
      },
      (err: unknown) => {
        // Nothing of this batch is committed: make the next flush write every chunk again.
        for (const upload of uploads) upload.bitmap.markAllDirty();
        batch?.reject(err);
        throw err;
      },
    );
    this.inflight = run;
    const settled = () => {
      this.inflight = null;
      if (this.batch) this.flushScheduled();
    };
    run.then(settled, settled);
    return run;
  }
}
