import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ClusterEvents } from '../cluster/cluster-events.js';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import type { ActiveUpload } from './active-upload.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { PrefixCatchUp } from './prefix-catch-up.js';
import { UploadHashing } from './upload-hashing.repository.js';
import { UploadLedger } from './upload-ledger.repository.js';

/** "Hand over your digest of upload <id>", to the instance owning its prefix MD5. */
const WANTED_CHANNEL = 'upload_hash_wanted';
/** "The digest of upload <id> is in upload_hashing", to the instance completing it. */
const READY_CHANNEL = 'upload_hash_ready';
/** How often a completion waiting for the owner's digest reads the row (messages are best effort). */
const POLL_MS = 200;
/** How often it checks that the owner is still live (its lease). */
const LIVENESS_MS = 2000;
/**
 * The longest a completion waits for a live owner; past it, it hashes the file itself. The owner
 * reads back at most what it had not yet hashed (about a second of uploading).
 */
const WAIT_LIMIT_MS = 120_000;

/**
 * The final MD5 of uploads whose blocks reach several instances (docs/scale-out.md).
 *
 * Every instance extends a prefix MD5 of its uploads as blocks arrive (PrefixHasher). When the
 * connections of one upload land on two instances, each would read the other's blocks back from
 * the shared file and hash the whole file too: twice the MD5 work for the cluster. Instead, when
 * an instance merges the other instances' receipts (at most once a second), it says in
 * `upload_hashing` how far its prefix got; the instance furthest ahead becomes (or stays) the
 * owner and keeps hashing, every other one stops. The instance that completes the upload asks the
 * owner for its digest (a cluster message; the owner reads back the last blocks, hashes them and
 * writes the digest to the row), or hashes the file itself when the owner died, gave up, or a
 * block was written twice anywhere (then no prefix can be trusted: `owner` NULL).
 *
 * With one process (SQLite) every block reaches it: nothing here runs.
 */
@Injectable()
export class SharedPrefixHash implements OnModuleInit {
  private readonly logger = new Logger('Uploads');
  /** Completions waiting for a digest, by upload id. */
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly ledger: UploadLedger,
    private readonly hashing: UploadHashing,
    private readonly events: ClusterEvents,
    private readonly instances: InstanceRegistry,
    private readonly registry: ActiveUploadRegistry,
    private readonly catchUp: PrefixCatchUp,
    private readonly storage: BlockStorage,
  ) {}

  onModuleInit(): void {
    if (!this.ledger.sharedReceipts) return;
    this.events.subscribe(WANTED_CHANNEL, (uploadId) => void this.handOver(uploadId));
    this.events.subscribe(READY_CHANNEL, (uploadId) => this.waiting.get(uploadId)?.());
  }

  /**
   * After this instance merged other instances' receipts of `upload`: keeps hashing if its
   * prefix is the one that counts, else stops for good (frees its window, reads nothing back).
   * The first instance to say how far it got owns the prefix; another takes it over only with a
   * lead of half the file (one instance received most of it before the other joined). A smaller
   * lead proves nothing: progress is reported at most once a second, and two instances taking
   * turns would each end up hashing the whole file.
   */
  async arbitrate(upload: ActiveUpload): Promise<void> {
    if (!this.ledger.sharedReceipts || upload.hasher.isTainted) return;
    const lead = Math.max(1, Math.ceil(upload.row.totalBlock / 2));
    const row = await this.hashing.claim(upload.id, this.instances.self, upload.hasher.hashed, lead);
    if (row && row.owner !== this.instances.self) upload.hasher.taint();
  }

  /**
   * Before a block is written over one already stored: the bytes other instances hashed may no
   * longer be the bytes on disk, so no prefix MD5 of the upload can be trusted any more.
   */
  async distrust(upload: ActiveUpload): Promise<void> {
    upload.hasher.taint();
    if (this.ledger.sharedReceipts) await this.hashing.distrust(upload.id);
  }

  /** The MD5 of a completing upload whose every block is recorded and written. */
  async digest(upload: ActiveUpload): Promise<string> {
    if (!this.ledger.sharedReceipts) return this.local(upload);
    const row = await this.hashing.find(upload.id);
    // No instance ever said how far it got: only this one hashed (it reads back the rest).
    if (!row) return this.local(upload);
    if (row.owner === null) return this.fromFile(upload);
    if (row.owner === this.instances.self || (!upload.hasher.isTainted && upload.hasher.hashed >= row.hashed)) return this.local(upload);
    return (await this.fromOwner(upload, row.owner)) ?? this.fromFile(upload);
  }

  /** Forgets what was recorded for a finished upload. */
  async finished(upload: ActiveUpload): Promise<void> {
    if (this.ledger.sharedReceipts) await this.hashing.forget(upload.id);
  }

  private async local(upload: ActiveUpload): Promise<string> {
    if (upload.hasher.isTainted) return this.fromFile(upload);
    await this.catchUp.advance(upload);
    return upload.hasher.digest();
  }

  private fromFile(upload: ActiveUpload): Promise<string> {
    return this.storage.hashFile(upload.row.storageName, upload.row.size, false);
  }

  /** Asks `owner` for its digest; null when it died, gave up or took too long. */
  private async fromOwner(upload: ActiveUpload, owner: string): Promise<string | null> {
    const started = performance.now();
    let checkedLive = started - LIVENESS_MS;
    let wake: () => void = () => undefined;
    this.waiting.set(upload.id, () => wake());
    try {
      await this.events.publish(WANTED_CHANNEL, upload.id);
      while (performance.now() - started < WAIT_LIMIT_MS) {
        const row = await this.hashing.find(upload.id);
        if (!row || row.owner !== owner) return null;
        if (row.md5) return row.md5;
        if (performance.now() - checkedLive >= LIVENESS_MS) {
          checkedLive = performance.now();
          if (!(await this.instances.liveInstances()).has(owner)) return null;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.logger.warn(`upload ${upload.id}: no digest from instance ${owner} in ${WAIT_LIMIT_MS} ms, hashing the file`);
      return null;
    } finally {
      this.waiting.delete(upload.id);
    }
  }

  /** Another instance completes an upload whose prefix MD5 this one owns: finish it and hand it over. */
  private async handOver(uploadId: string): Promise<void> {
    const upload = [...this.registry.values()].find((candidate) => candidate.id === uploadId);
    if (!upload) return; // Not held here (a message to every instance), or already handed over.
    const self = this.instances.self;
    try {
      if (upload.handingOver) return;
      upload.handingOver = true;
      const row = await this.hashing.find(uploadId);
      if (row?.owner !== self) return;
      await this.ledger.currentBitmap(upload.row, upload.bitmap);
      await upload.writesDrained();
      while (upload.advancing) await upload.advancing;
      await this.catchUp.advance(upload);
      if (upload.hasher.isTainted || upload.hasher.hashed < upload.row.totalBlock) {
        // The prefix cannot be finished here: say so, and the completion hashes the file.
        await this.hashing.distrust(uploadId);
      } else {
        const md5 = upload.hasher.digest();
        // The digest is spent: nothing is hashed here any more.
        upload.hasher.taint();
        await this.hashing.handOver(uploadId, self, md5);
      }
      await this.events.publish(READY_CHANNEL, uploadId);
    } catch (err) {
      this.logger.warn(`handing over the MD5 of upload ${uploadId} failed: ${(err as Error).message}`);
    }
  }
}
