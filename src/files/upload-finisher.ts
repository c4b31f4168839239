import { Injectable, Logger } from '@nestjs/common';
import { setImmediate } from 'node:timers/promises';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { Clock } from '../common/clock.js';
import { SqliteWriter } from '../database/sqlite-writer.js';
import type { ActiveUpload } from './active-upload.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { FilesErrors } from './files.errors.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';

/** How long the prefix MD5 may catch up from disk before letting other requests run. */
const CATCH_UP_SLICE_MS = 25;

/**
 * Completion of an upload whose every block is stored (docs/protocol.md §6): the prefix MD5 kept up to
 * date while blocks arrive, then final MD5, fsync, `completing`, atomic rename, `complete` and a
 * durable commit, exactly once and under the key's lock.
 */
@Injectable()
export class UploadFinisher {
  private readonly logger = new Logger('Uploads');

  constructor(
    private readonly registry: ActiveUploadRegistry,
    private readonly ledger: UploadLedger,
    private readonly storage: BlockStorage,
    private readonly progress: UploadProgressWriter,
    private readonly sqlite: SqliteWriter,
    private readonly clock: Clock,
    private readonly pool: BlockBufferPool,
  ) {}

  /**
   * Finishes `upload` and resolves to its MD5; every caller shares one run. Under the key's lock,
   * so a DELETE or a restarting SAVE either runs before (and the completion is refused) or after
   * (and sees a complete file), never in the middle. A crash anywhere in between is repaired at
   * startup (UploadRecoveryService).
   */
  complete(upload: ActiveUpload): Promise<string> {
    upload.completion ??= this.registry.withKey(upload.row.username, upload.row.key, async () => {
      if (upload.cancelled) throw FilesErrors.notAccepted(upload.row.key);
      try {
        return await this.finish(upload);
      } catch (err) {
        this.registry.stats.failed++;
        this.logger.error(`completing upload ${upload.id} failed`, (err as Error)?.stack);
        await this.abandon(upload);
        throw FilesErrors.blockWriteFailed(upload.row.totalBlock - 1);
      }
    });
    return upload.completion;
  }

  /** Extends the prefix MD5 with blocks that arrived out of order but were not kept in memory. */
  advancePrefix(upload: ActiveUpload): Promise<void> {
    if (upload.advancing) return upload.advancing;
    const run = this.readPrefixFromDisk(upload);
    upload.advancing = run;
    // Cleared only after the assignment above: the run may finish without ever awaiting.
    void run.finally(() => {
      if (upload.advancing === run) upload.advancing = null;
    });
    return run;
  }

  private async finish(upload: ActiveUpload): Promise<string> {
    const started = this.clock.now();
    upload.state = 'completing';
    await upload.writesDrained();
    while (upload.advancing) await upload.advancing;
    let md5: string;
    if (upload.hasher.isTainted) {
      md5 = await this.storage.hashFile(upload.row.storageName, upload.row.size, false);
    } else {
      await this.advancePrefix(upload);
      md5 = upload.hasher.digest();
    }
    const handle = upload.handle!;
    await this.storage.sync(handle);
    await handle.close();
    upload.handle = null;
    this.progress.flushNow();
    this.ledger.markCompleting(upload.id, md5, this.clock.now());
    await this.storage.promote(upload.row.storageName);
    this.ledger.markComplete(upload.id, this.clock.now());
    // The reply carries the MD5, which tells the client the file is safe: the commits above must
    // survive a power cut, not only a crash (synchronous=NORMAL syncs the WAL at checkpoints).
    await this.sqlite.durable();
    upload.state = 'complete';
    this.registry.remove(upload);
    this.registry.stats.completed++;
    const { username, key, size, createdAt } = upload.row;
    this.logger.log(
      `upload finished: user=${JSON.stringify(username)} key=${JSON.stringify(key)} size=${size} md5=${md5} ` +
        `seconds=${((this.clock.now() - createdAt) / 1000).toFixed(3)} finalise_ms=${this.clock.now() - started}`,
    );
    return md5;
  }

  /**
   * After a failed completion: forget the in-memory state so the next request reloads it, and
   * if the file was not renamed yet, make the upload resumable again (a retried block finishes it).
   */
  private async abandon(upload: ActiveUpload): Promise<void> {
    this.registry.remove(upload);
    await upload.close();
    if (await this.storage.exists(upload.row.storageName, false)) {
      this.ledger.revertCompleting(upload.id);
    }
  }

  private async readPrefixFromDisk(upload: ActiveUpload): Promise<void> {
    const { hasher, bitmap } = upload;
    try {
      let sliceStart = performance.now();
      while (!hasher.isTainted && upload.handle && hasher.next < upload.row.totalBlock && bitmap.has(hasher.next)) {
        const index = hasher.next;
        const length = upload.blockLength(index);
        const block = this.pool.acquire(length);
        try {
          // Synchronous, so that catching up outpaces arriving blocks: a thread-pool read queued
          // behind their writes, and the prefix then fell ever further behind (the bench saw 224
          // of a 1 GiB upload's 256 blocks read back, and its final block waited for the rest).
          hasher.feedFromDisk(this.storage.readAtSync(upload.handle, index * upload.row.blockSize, length, block.buffer));
        } finally {
          block.release();
        }
        // Other requests run between slices. One block per slice was not enough: each turn of
        // the event loop also takes in about a block, so after a stalled block the prefix never
        // caught up again.
        if (performance.now() - sliceStart >= CATCH_UP_SLICE_MS) {
          await setImmediate();
          sliceStart = performance.now();
        }
      }
    } catch (err) {
      // Reading back failed: fall back to hashing the whole file at completion.
      this.logger.warn(`prefix hash of upload ${upload.id} fell back to a full read: ${(err as Error).message}`);
      hasher.taint();
    }
  }
}
