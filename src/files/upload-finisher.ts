import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SqlRunner } from '../database/sql-runner.js';
import type { ActiveUpload } from './active-upload.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { FilesErrors } from './files.errors.js';
import { SharedPrefixHash } from './shared-prefix-hash.js';
import { UploadCounters } from './upload-counters.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';

/**
 * Completion of an upload whose every block is stored (docs/protocol.md §6): final MD5 (the
 * prefix MD5 caught up, or the whole file read when a block was written twice), fsync,
 * `completing`, atomic rename, `complete` and a durable commit, exactly once and under the key's lock.
 */
@Injectable()
export class UploadFinisher {
  private readonly logger = new Logger('Uploads');

  constructor(
    private readonly registry: ActiveUploadRegistry,
    private readonly ledger: UploadLedger,
    private readonly storage: BlockStorage,
    private readonly progress: UploadProgressWriter,
    private readonly db: SqlRunner,
    private readonly clock: Clock,
    private readonly prefixHash: SharedPrefixHash,
    private readonly counters: UploadCounters,
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
      // Another instance may have completed (or cancelled) it while this one waited for the lock.
      const row = await this.ledger.findById(upload.id);
      if (row?.state === 'complete' && row.md5) {
        upload.state = 'complete';
        await this.registry.evict(upload);
        return row.md5;
      }
      if (!row) {
        upload.detach();
        await this.registry.evict(upload);
        throw FilesErrors.notAccepted(upload.row.key);
      }
      try {
        return await this.finish(upload);
      } catch (err) {
        this.counters.failed++;
        this.logger.error(`completing upload ${upload.id} failed`, (err as Error)?.stack);
        await this.abandon(upload);
        throw FilesErrors.blockWriteFailed(upload.row.totalBlock - 1);
      }
    });
    return upload.completion;
  }

  private async finish(upload: ActiveUpload): Promise<string> {
    const started = this.clock.now();
    upload.state = 'completing';
    await upload.writesDrained();
    while (upload.advancing) await upload.advancing;
    // Blocks recorded by other instances: their bytes are in the shared partial file, and the
    // prefix MD5 reads them back from it below (PrefixCatchUp), as it does for blocks past its
    // window, unless another instance's prefix MD5 is the one that counts (SharedPrefixHash).
    if (!upload.bitmap.complete) await this.ledger.currentBitmap(upload.row, upload.bitmap);
    if (!upload.bitmap.complete) throw new Error(`upload ${upload.id} is missing blocks at completion`);
    const md5 = await this.prefixHash.digest(upload);
    await this.storage.sync(upload.handle!);
    // Closed while the commits below run, not before them: its data is on disk, a rename does not
    // need it closed, and each thread-pool round trip waits behind the other uploads' fsyncs.
    const closed = upload.close();
    closed.catch(() => undefined);
    await this.progress.flushNow();
    await this.ledger.markCompleting(upload.id, md5, this.clock.now());
    await this.storage.promote(upload.row.storageName);
    await this.ledger.markComplete(upload.id, this.clock.now());
    // The reply carries the MD5, which tells the client the file is safe: the commits above must
    // survive a power cut, not only a crash (SQLite: synchronous=NORMAL syncs the WAL only at
    // checkpoints; PostgreSQL: these commits are synchronous, unlike receipts).
    await this.db.durable();
    await closed;
    await this.prefixHash.finished(upload).catch((err: Error) => this.logger.warn(`upload ${upload.id}: ${err.message}`));
    upload.state = 'complete';
    this.registry.remove(upload);
    this.counters.completed++;
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
    await this.registry.evict(upload);
    if (await this.storage.exists(upload.row.storageName, false)) {
      await this.ledger.revertCompleting(upload.id);
    }
  }
}
