import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { SqlRunner } from '../database/sql-runner.js';
import { BlockStorage } from './block-storage.repository.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { ActiveUploadLoader } from './active-upload-loader.js';
import { UploadFinisher } from './upload-finisher.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/**
 * Unreferenced files younger than this are not swept either: besides the partial files this
 * process is creating (BlockStorage.isUnsettled), another process may be about to write a row.
 */
const SWEEP_GRACE_MS = 60_000;
const EXPIRY_JOB = 'upload-expiry';

/**
 * Restart safety and housekeeping. At startup (before the STEP port opens) every half-finished
 * completion is finished, uploads whose blocks all arrived are completed, and orphan files are
 * removed. A scheduled job expires abandoned uploads (STEP_UPLOAD_TTL_SECONDS) with their space.
 */
@Injectable()
export class UploadRecoveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('UploadRecovery');
  private running: Promise<void> | null = null;

  constructor(
    private readonly ledger: UploadLedger,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly storage: BlockStorage,
    private readonly uploads: UploadReceiverService,
    private readonly loader: ActiveUploadLoader,
    private readonly finisher: UploadFinisher,
    private readonly scheduler: SchedulerRegistry,
    private readonly clock: Clock,
    private readonly db: SqlRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.recover();
    await this.sweep();
    const timer = setInterval(() => void this.runExpiry(), this.config.storage.expiryIntervalSeconds * 1000);
    timer.unref();
    this.scheduler.addInterval(EXPIRY_JOB, timer);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.scheduler.doesExist('interval', EXPIRY_JOB)) this.scheduler.deleteInterval(EXPIRY_JOB);
    await this.running;
  }

  /** Runs the expiry job once (also what the schedule calls); never throws. */
  runExpiry(): Promise<void> {
    if (this.running) return this.running;
    const run = (async () => {
      try {
        await this.expire();
        await this.sweep();
      } catch (err) {
        this.logger.error('expiry job failed', (err as Error)?.stack);
      }
    })();
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
    return run;
  }

  /**
   * Finishes or repairs every upload a crash may have interrupted, except those another live
   * instance serves (that instance is not interrupted; if it dies, its lease lapses and the next
   * start of any instance, or the client's next block or STATUS, takes them over).
   */
  async recover(): Promise<void> {
    const servedElsewhere = await this.loader.servedElsewhere();
    const rows = (await this.ledger.listUnfinished()).filter((row) => !servedElsewhere(row));
    for (const row of rows) {
      try {
        // A power cut can take back the `completing` commit (synchronous=NORMAL) while the
        // rename survived: an `uploading` row whose partial file is gone but whose file is in
        // place was completing, and its file must not be thrown away.
        if (row.state === 'completing' || (await this.wasRenamed(row))) {
          await this.uploads.underKeyLock(row, (current) => this.finishCompletion(current));
        } else if ((await this.ledger.loadBitmap(row)).complete) {
          // Every block was acknowledged but the process died before completing: complete now.
          const upload = await this.loader.resume(row);
          if (upload && upload.bitmap.complete) await this.finisher.complete(upload);
        }
      } catch (err) {
        this.logger.error(`recovering upload ${row.id} failed`, (err as Error)?.stack);
      }
    }
    // Files made visible here are as final as acknowledged ones: their commits must be on disk.
    if (rows.length > 0) await this.db.durable();
  }

  /**
   * A crash between `completing` and `complete`: the MD5 is re-read from whichever file exists,
   * so a visible file never carries an MD5 that its bytes do not have.
   */
  private async finishCompletion(row: UploadEntity): Promise<void> {
    if (await this.storage.exists(row.storageName, true)) {
      const md5 = await this.storage.hashFile(row.storageName, row.size, true);
      await this.ledger.markCompleting(row.id, md5, this.clock.now());
      await this.ledger.markComplete(row.id, this.clock.now());
      this.logger.log(`recovered completed upload ${row.id} (md5 ${md5})`);
      return;
    }
    if (await this.storage.exists(row.storageName, false)) {
      const md5 = await this.storage.hashFile(row.storageName, row.size, false);
      await this.ledger.markCompleting(row.id, md5, this.clock.now());
      await this.storage.promote(row.storageName);
      await this.ledger.markComplete(row.id, this.clock.now());
      this.logger.log(`finished interrupted completion of upload ${row.id} (md5 ${md5})`);
      return;
    }
    this.logger.warn(`upload ${row.id} lost both its partial and its file; dropping it`);
    await this.loader.discard(row);
  }

  private async wasRenamed(row: UploadEntity): Promise<boolean> {
    return !(await this.storage.exists(row.storageName, false)) && (await this.storage.exists(row.storageName, true));
  }

  /** Drops uploads with no activity for STEP_UPLOAD_TTL_SECONDS. */
  private async expire(): Promise<void> {
    const cutoff = this.clock.now() - this.config.storage.uploadTtlSeconds * 1000;
    const servedElsewhere = await this.loader.servedElsewhere();
    const stale = (await this.ledger.listIdleSince(cutoff)).filter((row) => !servedElsewhere(row));
    for (const row of stale) {
      if (await this.uploads.expireIfIdle(row, cutoff)) {
        this.logger.log(
          `expired upload user=${JSON.stringify(row.username)} key=${JSON.stringify(row.key)} (idle since ${new Date(row.updatedAt).toISOString()})`,
        );
      }
    }
  }

  /**
   * Removes files on disk that no row accounts for (left by a crash between file and row). A
   * name any row references stays, in either directory and whatever the row's state: a power
   * cut can leave a row's state behind its file's place.
   */
  private async sweep(): Promise<void> {
    // Disk first, rows second: a file listed here whose row was committed meanwhile is seen.
    const stored = await this.storage.listStored();
    const referenced = await this.ledger.listStorageNames();
    const cutoff = this.clock.now() - SWEEP_GRACE_MS;
    const orphan = (entry: { name: string; mtimeMs: number }) =>
      !referenced.has(entry.name) && !this.storage.isUnsettled(entry.name) && entry.mtimeMs < cutoff;
    for (const partial of stored.partials) {
      if (orphan(partial)) {
        await this.storage.removePartial(partial.name);
        this.logger.log(`removed orphan partial file ${partial.name}`);
      }
    }
    for (const file of stored.files) {
      if (orphan(file)) {
        await this.storage.removeFile(file.name);
        this.logger.log(`removed orphan file ${file.name}`);
      }
    }
  }
}
