import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { Clock } from '../common/clock.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import { md5Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { blockBufferPool } from '../transport/buffer-pool.js';
import { STEP_DEFAULT_BLOCK_SIZE, StepReply } from '../transport/index.js';
import { ActiveUpload } from './active-upload.js';
import { BlockBitmap } from './block-bitmap.js';
import { BlockStorage } from './block-storage.repository.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { checkKeyLength, FilesErrors, requireKey } from './files.errors.js';
import type { FileRequestDto } from './dto/file-request.dto.js';
import { PrefixHasher } from './prefix-hasher.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';

/**
 * Out-of-order block bytes one upload may hold for its prefix MD5; blocks beyond are read back
 * from disk (a page-cache copy). 16 MiB keeps the server's peak RSS for a 1 GiB upload from the
 * step CLI (4 connections x 2 x 4 MiB in flight) near 170 MiB, where 48 MiB reached 220-270;
 * with the nearest blocks kept and the catch-up done in slices, few blocks are read back.
 */
const HASH_WINDOW_BYTES = 16 * 1024 * 1024;
/** How long the prefix MD5 may catch up from disk before letting other requests run. */
const CATCH_UP_SLICE_MS = 25;
/** Missing ranges a STATUS reply lists at most. */
const MAX_STATUS_RANGES = 10_000;

/** Counters for metrics. */
export interface UploadStats {
  started: number;
  completed: number;
  failed: number;
}

function userKey(username: string, key: string): string {
  return `${username}\n${key}`;
}

/**
 * The upload rules of spec A6, C1, C2 and C4: upload plans, blocks in any order on any
 * connection, STATUS for resuming, and completion (MD5, fsync, atomic rename) exactly once.
 */
@Injectable()
export class UploadsService implements OnModuleDestroy {
  private readonly logger = new Logger('Uploads');
  private readonly active = new Map<string, ActiveUpload>();
  private readonly loading = new Map<string, Promise<ActiveUpload | null>>();
  private readonly locks = new KeyedMutex();
  readonly stats: UploadStats = { started: 0, completed: 0, failed: 0 };

  constructor(
    private readonly ledger: UploadLedger,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly storage: BlockStorage,
    private readonly progress: UploadProgressWriter,
    private readonly clock: Clock,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.progress.flushNow(this.active.values());
    for (const upload of this.active.values()) {
      await upload.writesDrained();
      await upload.handle?.close().catch(() => undefined);
      upload.handle = null;
    }
    this.active.clear();
  }

  /** Number of uploads with an open partial file in memory. */
  get activeCount(): number {
    return this.active.size;
  }

  /** The block size granted for a requested one (spec C1): absent means 20480, else clamped. */
  grantBlockSize(requested: number | undefined): number {
    const { minBlockSize, maxBlockSize } = this.config.storage;
    // The default is clamped too: with STEP_MAX_BLOCK_SIZE under 20480 the transport refuses
    // 20480-byte blocks (413), so granting them would make every such upload fail.
    const wanted = requested === undefined || requested === null ? STEP_DEFAULT_BLOCK_SIZE : requested;
    return Math.min(maxBlockSize, Math.max(minBlockSize, wanted));
  }

  /** FILE SAVE: grants an upload plan, restarting an unfinished upload of the same key (A6). */
  async plan(username: string, dto: FileRequestDto): Promise<StepReply> {
    const { storage } = this.config;
    const key = dto.key === undefined || dto.key === null || dto.key === '' ? randomUUID() : checkKeyLength(dto.key, storage.maxKeyBytes);
    // The user's lock too: the upload-count and quota checks below must see every plan granted
    // before them, or parallel SAVEs of different keys all pass the limits at once.
    return this.locks.run(userKey(username, key), () => this.locks.run(userKey(username, ''), async () => {
      const existing = await this.ledger.find(username, key);
      if (existing && existing.state !== 'uploading') throw FilesErrors.fileKeyExists(key);
      if (dto.size === undefined || dto.size === null) throw FilesErrors.sizeMissing();
      const size = dto.size;
      if (size < 0) throw FilesErrors.sizeNegative();
      if (size > storage.maxFileBytes) throw FilesErrors.sizeTooLarge(size, storage.maxFileBytes);
      if (!existing && (await this.ledger.countUploading(username)) >= storage.maxUploadsPerUser) {
        throw FilesErrors.tooManyUploads(storage.maxUploadsPerUser);
      }
      if (storage.userQuotaBytes > 0) {
        const used = this.ledger.bytesOfUser(username, existing?.id);
        if (used + size > storage.userQuotaBytes) throw FilesErrors.quotaExceeded(storage.userQuotaBytes);
      }
      if ((await this.storage.freeBytes()) - size < storage.minFreeBytes) throw FilesErrors.noSpace(size);
      // A6: a SAVE for a key whose upload is incomplete restarts that upload from zero.
      if (existing) await this.discard(existing);

      const blockSize = this.grantBlockSize(dto.block_size);
      const totalBlock = Math.ceil(size / blockSize);
      const now = this.clock.now();
      const row: UploadEntity = {
        id: randomUUID(),
        username,
        key,
        size,
        blockSize,
        totalBlock,
        state: 'uploading',
        receivedCount: 0,
        storageName: randomUUID(),
        md5: null,
        createdAt: now,
        updatedAt: now,
        completedAt: null,
      };
      // File first, row second: a crash in between leaves an orphan file the sweep removes,
      // never a row whose file is missing.
      const handle = await this.storage.createPartial(row.storageName, size);
      try {
        await this.ledger.insert(row);
      } catch (err) {
        await handle.close();
        await this.storage.removePartial(row.storageName);
        throw err;
      }
      const upload = this.activate(row, handle, new BlockBitmap(totalBlock));
      this.active.set(userKey(username, key), upload);
      this.stats.started++;
      this.logger.log(`upload started: user=${username} key=${JSON.stringify(key)} size=${size} block_size=${blockSize}`);
      const plan = { key, size, block_size: blockSize, total_block: totalBlock };
      // C7: an empty file has no block whose reply could carry the MD5, so it completes right here.
      if (totalBlock === 0) return StepReply.ok('This is the upload plan.', { ...plan, md5: await this.complete(upload) });
      return StepReply.ok('This is the upload plan.', plan);
    }));
  }

  /** FILE UPLOAD: stores one block; the reply to the block that completes the file carries `md5`. */
  async receiveBlock(username: string, dto: FileRequestDto, binary: Buffer | null): Promise<StepReply> {
    const key = requireKey(dto.key, 'UPLOAD', this.config.storage.maxKeyBytes);
    const upload = await this.find(username, key);
    if (!upload) {
      const row = await this.ledger.find(username, key);
      throw row && row.state !== 'uploading' ? FilesErrors.completelyUploaded(key) : FilesErrors.notAccepted(key);
    }
    if (upload.state !== 'uploading') throw FilesErrors.completelyUploaded(key);
    const index = dto.block_index;
    if (index === undefined || index === null) throw FilesErrors.blockIndexMissing('UPLOAD');
    if (index >= upload.row.totalBlock) throw FilesErrors.blockIndexTooHigh(index, upload.row.totalBlock);
    if (index < 0) throw FilesErrors.blockIndexNegative(index);
    if (!binary || binary.length !== upload.blockLength(index)) throw FilesErrors.blockSizeWrong();
    let blockMd5: string | undefined;
    if (dto.block_md5) {
      blockMd5 = md5Hex(binary);
      if (blockMd5 !== dto.block_md5.toLowerCase()) throw FilesErrors.blockMd5Mismatch();
    }

    // A block written twice may differ from what was hashed: the final MD5 then comes from disk.
    if (upload.isDuplicate(index)) upload.hasher.taint();
    try {
      await upload.trackWrite(index, this.storage.writeBlock(upload.handle!, binary, index * upload.row.blockSize));
    } catch (err) {
      throw this.writeError(err, index, upload);
    }
    if (upload.cancelled) throw FilesErrors.notAccepted(key);
    if (upload.bitmap.set(index)) upload.hasher.offer(index, binary);
    if (blockMd5) upload.pendingBlockMd5s.set(index, blockMd5);
    // Acknowledge only once the receipt is committed (coalesced with other blocks).
    await this.progress.record(upload);
    if (upload.bitmap.has(upload.hasher.next)) void this.advancePrefix(upload);
    const fields: Record<string, unknown> = { key, block_index: index };
    if (upload.bitmap.complete) {
      if (upload.cancelled) throw FilesErrors.notAccepted(key);
      fields.md5 = await this.complete(upload);
    }
    return StepReply.ok(`The block ${index} is uploaded.`, fields);
  }

  /** FILE STATUS (spec C2): what arrived and what is missing, for resuming. */
  async status(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'STATUS', this.config.storage.maxKeyBytes);
    const row = await this.ledger.find(username, key);
    if (!row) throw FilesErrors.noUpload(key);
    const base = { key, size: row.size, block_size: row.blockSize, total_block: row.totalBlock };
    if (row.state === 'complete') {
      return StepReply.ok('OK', { ...base, received_count: row.totalBlock, missing_ranges: [], complete: true, md5: row.md5 });
    }
    const upload = await this.find(username, key);
    const bitmap = upload?.bitmap ?? (await this.ledger.loadBitmap(row));
    const ranges = bitmap.missingRanges(MAX_STATUS_RANGES);
    return StepReply.ok('OK', {
      ...base,
      received_count: bitmap.count,
      missing_ranges: ranges,
      missing_ranges_truncated: ranges.length === MAX_STATUS_RANGES,
      complete: false,
    });
  }

  /** Cancels an unfinished upload (FILE DELETE of an incomplete key, admin API). False if none. */
  async cancel(username: string, key: string): Promise<boolean> {
    return this.locks.run(userKey(username, key), async () => {
      const row = await this.ledger.find(username, key);
      if (!row || row.state !== 'uploading') return false;
      await this.discard(row);
      this.logger.log(`upload cancelled: user=${username} key=${JSON.stringify(key)}`);
      return true;
    });
  }

  /** Every unfinished upload, for the admin API. */
  async listInProgress(): Promise<UploadEntity[]> {
    const rows = await this.ledger.listInProgress();
    for (const row of rows) {
      const live = this.active.get(userKey(row.username, row.key));
      if (live) row.receivedCount = live.bitmap.count;
    }
    return rows;
  }

  /**
   * Finishes an upload whose every block is stored: final MD5 (incremental, or from disk when a
   * block was written twice), fsync, state `completing` with the MD5, atomic rename, `complete`.
   * A crash anywhere in between is repaired at startup (UploadRecovery).
   */
  complete(upload: ActiveUpload): Promise<string> {
    upload.completion ??= this.finish(upload).catch(async (err: unknown) => {
      this.stats.failed++;
      this.logger.error(`completing upload ${upload.id} failed`, (err as Error)?.stack);
      await this.abandonCompletion(upload);
      throw FilesErrors.blockWriteFailed(upload.row.totalBlock - 1);
    });
    return upload.completion;
  }

  /**
   * After a failed completion: forget the in-memory state so the next request reloads it, and
   * if the file was not renamed yet, make the upload resumable again (a retried block finishes it).
   */
  private async abandonCompletion(upload: ActiveUpload): Promise<void> {
    this.active.delete(userKey(upload.row.username, upload.row.key));
    await upload.handle?.close().catch(() => undefined);
    upload.handle = null;
    if (await this.storage.exists(upload.row.storageName, false)) {
      this.ledger.revertCompleting(upload.id);
    }
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
    upload.state = 'complete';
    this.active.delete(userKey(upload.row.username, upload.row.key));
    this.stats.completed++;
    const { username, key, size, createdAt } = upload.row;
    this.logger.log(
      `upload finished: user=${username} key=${JSON.stringify(key)} size=${size} md5=${md5} ` +
        `seconds=${((this.clock.now() - createdAt) / 1000).toFixed(3)} finalise_ms=${this.clock.now() - started}`,
    );
    return md5;
  }

  /** Drops an unfinished upload: memory, row (cascading to its bitmap) and partial file. */
  async discard(row: UploadEntity): Promise<void> {
    const live = this.active.get(userKey(row.username, row.key));
    if (live && live.id === row.id) {
      live.state = 'cancelled';
      this.active.delete(userKey(row.username, row.key));
      await live.writesDrained();
      while (live.advancing) await live.advancing;
      await live.handle?.close().catch(() => undefined);
      live.handle = null;
    }
    this.ledger.delete(row.id);
    await this.storage.removePartial(row.storageName);
  }

  /** Loads an upload row's state into memory (after a restart) and finishes it if complete. */
  async resume(row: UploadEntity): Promise<ActiveUpload | null> {
    const live = this.active.get(userKey(row.username, row.key));
    if (live) return live;
    const bitmap = await this.ledger.loadBitmap(row);
    let handle;
    try {
      handle = await this.storage.openPartial(row.storageName);
    } catch {
      // The partial file is gone (lost data dir content): nothing can be resumed.
      this.logger.warn(`upload ${row.id} has no partial file; dropping it`);
      await this.discard(row);
      return null;
    }
    const upload = this.activate(row, handle, bitmap);
    this.active.set(userKey(row.username, row.key), upload);
    return upload;
  }

  private activate(row: UploadEntity, handle: ActiveUpload['handle'], bitmap: BlockBitmap): ActiveUpload {
    return new ActiveUpload(row, handle, bitmap, new PrefixHasher(HASH_WINDOW_BYTES));
  }

  private async find(username: string, key: string): Promise<ActiveUpload | null> {
    const id = userKey(username, key);
    const live = this.active.get(id);
    if (live) return live;
    let loading = this.loading.get(id);
    if (!loading) {
      loading = (async () => {
        const row = await this.ledger.find(username, key, 'uploading');
        return row ? this.resume(row) : null;
      })().finally(() => this.loading.delete(id));
      this.loading.set(id, loading);
    }
    return loading;
  }

  /** Extends the prefix MD5 with blocks that arrived out of order but were not kept in memory. */
  private advancePrefix(upload: ActiveUpload): Promise<void> {
    if (upload.advancing) return upload.advancing;
    const run = this.readPrefixFromDisk(upload);
    upload.advancing = run;
    // Cleared only after the assignment above: the run may finish without ever awaiting.
    void run.finally(() => {
      if (upload.advancing === run) upload.advancing = null;
    });
    return run;
  }

  private async readPrefixFromDisk(upload: ActiveUpload): Promise<void> {
    const { hasher, bitmap } = upload;
    try {
      let sliceStart = performance.now();
      while (!hasher.isTainted && upload.handle && hasher.next < upload.row.totalBlock && bitmap.has(hasher.next)) {
        const index = hasher.next;
        const length = upload.blockLength(index);
        const block = blockBufferPool.acquire(length);
        try {
          // Synchronous, so that catching up outpaces arriving blocks: a thread-pool read queued
          // behind their writes, and the prefix then fell ever further behind (the bench saw 224
          // of a 1 GiB upload's 256 blocks read back, and its final block waited for the rest).
          hasher.feedFromDisk(this.storage.readAtSync(upload.handle, index * upload.row.blockSize, length, block));
        } finally {
          blockBufferPool.release(block);
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

  private writeError(err: unknown, index: number, upload: ActiveUpload) {
    const code = (err as NodeJS.ErrnoException)?.code;
    this.logger.error(`writing block ${index} of upload ${upload.id} failed: ${code ?? (err as Error)?.message}`);
    return code === 'ENOSPC' || code === 'EDQUOT' ? FilesErrors.blockNoSpace(index) : FilesErrors.blockWriteFailed(index);
  }
}
