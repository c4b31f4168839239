import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { md5Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { STEP_STATUS_MAX_RANGES } from '../protocol/index.js';
import { StepReply } from '../transport/index.js';
import type { ActiveUpload } from './active-upload.js';
import { ActiveUploadLoader } from './active-upload-loader.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockBitmap } from './block-bitmap.js';
import { grantBlockSize } from './block-size.js';
import { BlockStorage } from './block-storage.repository.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { checkKeyLength, FilesErrors, requireKey } from './files.errors.js';
import type { FileRequestDto } from './dto/file-request.dto.js';
import { PrefixCatchUp } from './prefix-catch-up.js';
import { SharedPrefixHash } from './shared-prefix-hash.js';
import { UploadCounters } from './upload-counters.js';
import { UploadFinisher } from './upload-finisher.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';

/** How often an upload whose blocks also reach other instances reads their receipts (see learnOthersBlocks). */
const MERGE_OTHERS_INTERVAL_MS = 1000;

/**
 * Receives uploads by the rules of docs/protocol.md §6: upload plans (SAVE), blocks in any order
 * on any connection (UPLOAD), STATUS for resuming, cancelling and expiring unfinished uploads.
 * Completion is the UploadFinisher's; the uploads in memory and their locks are the registry's.
 */
@Injectable()
export class UploadReceiverService implements OnModuleDestroy {
  private readonly logger = new Logger('Uploads');

  constructor(
    private readonly ledger: UploadLedger,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly storage: BlockStorage,
    private readonly progress: UploadProgressWriter,
    private readonly clock: Clock,
    private readonly registry: ActiveUploadRegistry,
    private readonly loader: ActiveUploadLoader,
    private readonly finisher: UploadFinisher,
    private readonly catchUp: PrefixCatchUp,
    private readonly counters: UploadCounters,
    private readonly prefixHash: SharedPrefixHash,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.progress.flushNow(this.registry.values()).catch((err: Error) => this.logger.error(`last receipts failed: ${err.message}`));
    await this.registry.closeAll();
  }

  /** FILE SAVE: grants an upload plan, restarting an unfinished upload of the same key (docs/protocol.md §6). */
  async plan(username: string, dto: FileRequestDto): Promise<StepReply> {
    const { storage } = this.config;
    const key = dto.key === undefined || dto.key === null || dto.key === '' ? randomUUID() : checkKeyLength(dto.key, storage.maxKeyBytes);
    // The user's lock too: the upload-count and quota checks below must see every plan granted
    // before them, or parallel SAVEs of different keys all pass the limits at once.
    const granted = await this.registry.withKeyAndUser(username, key, async () => {
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
        const used = await this.ledger.bytesOfUser(username, existing?.id);
        if (used + size > storage.userQuotaBytes) throw FilesErrors.quotaExceeded(storage.userQuotaBytes);
      }
      if ((await this.storage.freeBytes()) - size < storage.minFreeBytes) throw FilesErrors.noSpace(size);
      // docs/protocol.md §6: a SAVE for a key whose upload is incomplete restarts that upload from zero.
      if (existing) await this.loader.discard(existing);

      const blockSize = grantBlockSize(dto.block_size, storage);
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
        servedBy: this.loader.self,
      };
      // File first, row second: a crash in between leaves an orphan file the sweep removes,
      // never a row whose file is missing.
      const handle = await this.storage.createPartial(row.storageName, size);
      try {
        await this.ledger.insert(row);
      } catch (err) {
        await handle.close();
        await this.storage.removePartial(row.storageName);
        // Another instance planned the same key between the read above and this insert.
        if (this.ledger.isUniqueViolation(err)) throw FilesErrors.fileKeyExists(key);
        throw err;
      } finally {
        this.storage.settlePartial(row.storageName);
      }
      const upload = this.loader.open(row, handle, new BlockBitmap(totalBlock));
      this.counters.started++;
      this.logger.log(`upload started: user=${JSON.stringify(username)} key=${JSON.stringify(key)} size=${size} block_size=${blockSize}`);
      return { upload, plan: { key, size, block_size: blockSize, total_block: totalBlock } };
    });
    // docs/protocol.md §6: an empty file has no block whose reply could carry the MD5, so it
    // completes right here, once the key's lock is released (completion takes it).
    if (granted.plan.total_block === 0)
      return StepReply.ok('This is the upload plan.', { ...granted.plan, md5: await this.finisher.complete(granted.upload) });
    return StepReply.ok('This is the upload plan.', granted.plan);
  }

  /** FILE UPLOAD: stores one block; the reply to the block that completes the file carries `md5`. */
  async receiveBlock(username: string, dto: FileRequestDto, binary: Buffer | null): Promise<StepReply> {
    const key = requireKey(dto.key, 'UPLOAD', this.config.storage.maxKeyBytes);
    let upload = await this.loader.find(username, key);
    const index = dto.block_index;
    // A block that does not fit the plan in memory may fit the plan another instance granted
    // since (the key restarted there with another block size): only then is the database read.
    if (upload && upload.state === 'uploading' && typeof index === 'number' && !fitsPlan(upload, index, binary)) {
      upload = await this.loader.reloadIfReplaced(upload);
    }
    if (!upload) {
      const row = await this.ledger.find(username, key);
      throw row && row.state !== 'uploading' ? FilesErrors.completelyUploaded(key) : FilesErrors.notAccepted(key);
    }
    if (upload.state !== 'uploading') throw FilesErrors.completelyUploaded(key);
    if (index === undefined || index === null) throw FilesErrors.blockIndexMissing('UPLOAD');
    if (index >= upload.row.totalBlock) throw FilesErrors.blockIndexTooHigh(index, upload.row.totalBlock);
    if (index < 0) throw FilesErrors.blockIndexNegative(index);
    if (!binary || binary.length !== upload.blockLength(index)) throw FilesErrors.blockSizeWrong();
    upload.lastActivityAt = this.clock.now();
    let blockMd5: string | undefined;
    if (dto.block_md5) {
      blockMd5 = md5Hex(binary);
      if (blockMd5 !== dto.block_md5.toLowerCase()) throw FilesErrors.blockMd5Mismatch();
    }

    // A block written twice may differ from what was hashed: the final MD5 then comes from disk.
    const duplicate = upload.isDuplicate(index);
    if (duplicate) await this.prefixHash.distrust(upload);
    try {
      await upload.trackWrite(index, this.storage.writeBlock(upload.handle!, binary, index * upload.row.blockSize));
    } catch (err) {
      throw this.writeError(err, index, upload);
    }
    if (upload.cancelled) throw FilesErrors.notAccepted(key);
    if (upload.bitmap.set(index)) upload.hasher.offer(index, binary);
    // docs/protocol.md §7: the MD5 kept for a block must be of the bytes stored last; one re-sent
    // without an MD5 forgets the earlier one (DOWNLOAD would otherwise vouch for bytes no longer there).
    if (blockMd5) upload.pendingBlockMd5s.set(index, blockMd5);
    else if (duplicate) upload.pendingBlockMd5s.set(index, null);
    // Acknowledge only once the receipt is committed (coalesced with other blocks).
    try {
      await this.progress.record(upload);
    } finally {
      // The prefix MD5 of the block (deferred by the offer above) waits for the reply, not the reply for it.
      upload.hasher.hashAfterReplies();
    }
    if (upload.detached) throw await this.changedElsewhere(upload);
    if (upload.recordedCount > upload.bitmap.count) this.learnOthersBlocks(upload);
    if (upload.bitmap.has(upload.hasher.next)) void this.catchUp.advance(upload);
    const fields: Record<string, unknown> = { key, block_index: index };
    if (upload.allRecorded) {
      if (upload.cancelled) throw FilesErrors.notAccepted(key);
      fields.md5 = await this.finisher.complete(upload);
    }
    return StepReply.ok(`The block ${index} is uploaded.`, fields);
  }

  /** FILE STATUS (docs/protocol.md §6): what arrived and what is missing, for resuming. */
  async status(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'STATUS', this.config.storage.maxKeyBytes);
    const row = await this.ledger.find(username, key);
    if (!row) throw FilesErrors.noUpload(key);
    const base = { key, size: row.size, block_size: row.blockSize, total_block: row.totalBlock };
    if (row.state === 'complete') {
      return StepReply.ok('OK', { ...base, received_count: row.totalBlock, missing_ranges: [], complete: true, md5: row.md5 });
    }
    let upload = await this.loader.find(username, key);
    // The copy in memory is stale when another instance restarted the key since.
    if (upload && upload.id !== row.id) upload = await this.loader.reloadIfReplaced(upload);
    // With several instances, what the others recorded counts too (and this one learns of it).
    const bitmap = upload ? await this.ledger.currentBitmap(upload.row, upload.bitmap) : await this.ledger.loadBitmap(row);
    const ranges = bitmap.missingRanges(STEP_STATUS_MAX_RANGES);
    return StepReply.ok('OK', {
      ...base,
      received_count: bitmap.count,
      missing_ranges: ranges,
      missing_ranges_truncated: ranges.length === STEP_STATUS_MAX_RANGES,
      complete: false,
    });
  }

  /** Cancels an unfinished upload (FILE DELETE of an incomplete key, admin API). False if none. */
  async cancel(username: string, key: string): Promise<boolean> {
    return this.registry.withKey(username, key, async () => {
      const row = await this.ledger.find(username, key);
      if (!row || row.state !== 'uploading' || !(await this.loader.discard(row))) return false;
      this.logger.log(`upload cancelled: user=${JSON.stringify(username)} key=${JSON.stringify(key)}`);
      return true;
    });
  }

  /**
   * Cancels the upload `row` (by id) if it is still idle since before `cutoff`: the expiry job's
   * list is read without the lock, and meanwhile the key may have been planned anew or resumed.
   */
  async expireIfIdle(row: UploadEntity, cutoff: number): Promise<boolean> {
    return this.registry.withKey(row.username, row.key, async () => {
      const current = await this.ledger.findById(row.id);
      if (!current || current.state !== 'uploading' || current.updatedAt >= cutoff) return false;
      const live = this.registry.get(row.username, row.key);
      if (live?.id === row.id && live.lastActivityAt >= cutoff) return false;
      return this.loader.discard(current);
    });
  }

  /**
   * Another instance records blocks of this upload too: their bytes are in the shared partial
   * file. Merging their receipts now and then lets the prefix MD5 read them back as it goes
   * (PrefixCatchUp), instead of all at completion (the whole file when blocks alternate), on
   * the one instance whose prefix MD5 counts (SharedPrefixHash): the others stop hashing.
   */
  private learnOthersBlocks(upload: ActiveUpload): void {
    const now = this.clock.now();
    if (now - upload.othersMergedAt < MERGE_OTHERS_INTERVAL_MS) return;
    upload.othersMergedAt = now;
    void this.ledger
      .currentBitmap(upload.row, upload.bitmap)
      .then(() => this.prefixHash.arbitrate(upload))
      .then(() => {
        if (!upload.cancelled && upload.bitmap.has(upload.hasher.next)) void this.catchUp.advance(upload);
      })
      .catch((err: Error) => this.logger.warn(`reading the receipts of upload ${upload.id} failed: ${err.message}`));
  }

  /**
   * Runs `fn` on the current state of the unfinished upload `row` (by id), under its key's lock;
   * nothing when it finished or went meanwhile (recovery reads its list without the lock).
   */
  async underKeyLock(row: UploadEntity, fn: (current: UploadEntity) => Promise<void>): Promise<void> {
    await this.registry.withKey(row.username, row.key, async () => {
      const current = await this.ledger.findById(row.id);
      if (current && current.state !== 'complete') await fn(current);
    });
  }

  /**
   * The database showed that another instance cancelled, restarted or completed the upload this
   * block was for: forget it here, so the next request of the key reloads the row.
   */
  private async changedElsewhere(upload: ActiveUpload) {
    await this.registry.evict(upload);
    const row = await this.ledger.find(upload.row.username, upload.row.key);
    return row && row.state !== 'uploading' ? FilesErrors.completelyUploaded(upload.row.key) : FilesErrors.notAccepted(upload.row.key);
  }

  private writeError(err: unknown, index: number, upload: ActiveUpload) {
    const code = (err as NodeJS.ErrnoException)?.code;
    this.logger.error(`writing block ${index} of upload ${upload.id} failed: ${code ?? (err as Error)?.message}`);
    return code === 'ENOSPC' || code === 'EDQUOT' ? FilesErrors.blockNoSpace(index) : FilesErrors.blockWriteFailed(index);
  }
}

/** Whether block `index` with these bytes fits the upload's plan (index in range, right length). */
function fitsPlan(upload: ActiveUpload, index: number, binary: Buffer | null): boolean {
  return index >= 0 && index < upload.row.totalBlock && binary !== null && binary.length === upload.blockLength(index);
}
