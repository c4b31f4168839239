import { Injectable, Logger } from '@nestjs/common';
import type { FileHandle } from 'node:fs/promises';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { ActiveUpload } from './active-upload.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockBitmap } from './block-bitmap.js';
import { BlockStorage } from './block-storage.repository.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { PrefixHasher } from './prefix-hasher.js';
import { UploadLedger } from './upload-ledger.repository.js';

/**
 * Out-of-order block bytes one upload may hold for its prefix MD5; blocks beyond are read back
 * from disk (a page-cache copy). 16 MiB bounds the server's peak memory per upload while the
 * step CLI's blocks in flight still fit; with the nearest blocks kept and the catch-up done in
 * slices (PrefixCatchUp), few blocks are read back.
 */
const HASH_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Brings unfinished uploads into memory (a new plan, or a row after a restart) and drops them for
 * good (memory, row and partial file). Loading runs under the key's lock of the registry.
 */
@Injectable()
export class ActiveUploadLoader {
  private readonly logger = new Logger('Uploads');
  /** Loads in progress, so concurrent first requests for one key share one. */
  private readonly pending = new Map<string, Promise<ActiveUpload | null>>();

  constructor(
    private readonly registry: ActiveUploadRegistry,
    private readonly ledger: UploadLedger,
    private readonly storage: BlockStorage,
    private readonly pool: BlockBufferPool,
    private readonly instances: InstanceRegistry,
  ) {}

  /** This instance's id, recorded on the uploads it serves. */
  get self(): string {
    return this.instances.self;
  }

  /**
   * A test for rows another live instance serves: recovery, expiry and the orphan sweep leave
   * those alone (that instance handles them; if it dies, its uploads are taken over by whichever
   * instance the client's next block or STATUS reaches, and its lease lapses for the jobs).
   */
  async servedElsewhere(): Promise<(row: UploadEntity) => boolean> {
    const live = await this.instances.liveInstances();
    const self = this.instances.self;
    return (row) => row.servedBy !== null && row.servedBy !== self && live.has(row.servedBy);
  }

  /** Holds a just-planned (or just-reopened) upload in memory. */
  open(row: UploadEntity, handle: FileHandle, bitmap: BlockBitmap): ActiveUpload {
    const upload = new ActiveUpload(row, handle, bitmap, new PrefixHasher(HASH_WINDOW_BYTES, this.pool));
    upload.recordedCount = bitmap.count;
    this.registry.add(upload);
    return upload;
  }

  /** The unfinished upload of a user's key, loaded from the database if not in memory; null if none. */
  find(username: string, key: string): Promise<ActiveUpload | null> {
    const live = this.registry.get(username, key);
    if (live) return Promise.resolve(live);
    const id = JSON.stringify([username, key]);
    let loading = this.pending.get(id);
    if (!loading) {
      // Read and load under the lock: a cancel between the two left a loaded upload whose row
      // was gone, and its blocks were acknowledged.
      loading = this.registry
        .withKey(username, key, async () => {
          const row = await this.ledger.find(username, key, 'uploading');
          return row ? this.resumeLocked(row) : null;
        })
        .finally(() => this.pending.delete(id));
      this.pending.set(id, loading);
    }
    return loading;
  }

  /**
   * The key's unfinished upload as the database has it now, for an upload in memory whose
   * request did not fit: another instance may have restarted the key with a new plan (a SAVE
   * there, docs/protocol.md §6), which leaves this copy stale. Evicts it then and loads the new
   * plan; returns `held` itself when it is still the current one.
   */
  reloadIfReplaced(held: ActiveUpload): Promise<ActiveUpload | null> {
    const { username, key } = held.row;
    return this.registry.withKey(username, key, async () => {
      const row = await this.ledger.find(username, key, 'uploading');
      if (row?.id === held.id) return held;
      if (this.registry.get(username, key) === held) {
        held.state = 'cancelled';
        await this.registry.evict(held);
      }
      return row ? this.resumeLocked(row) : null;
    });
  }

  /** Loads an upload row's state into memory (after a restart), under the key's lock. */
  resume(row: UploadEntity): Promise<ActiveUpload | null> {
    return this.registry.withKey(row.username, row.key, () => this.resumeLocked(row));
  }

  /**
   * Drops an unfinished upload: memory, row (cascading to its bitmap) and partial file. Callers
   * hold the key's lock. False when the row was already gone or no longer unfinished.
   */
  async discard(row: UploadEntity): Promise<boolean> {
    const live = this.registry.get(row.username, row.key);
    if (live && live.id === row.id) {
      live.state = 'cancelled';
      await this.registry.evict(live);
    }
    // By id and state: exactly this upload, and never one that completed meanwhile.
    if (!(await this.ledger.deleteUnfinished(row.id))) return false;
    await this.storage.removePartial(row.storageName);
    return true;
  }

  private async resumeLocked(row: UploadEntity): Promise<ActiveUpload | null> {
    const live = this.registry.get(row.username, row.key);
    if (live) return live.id === row.id ? live : null;
    const bitmap = await this.ledger.loadBitmap(row);
    // Taking over an upload (after a restart, or from an instance that died or also serves it).
    await this.ledger.markServedBy(row.id, this.instances.self);
    let handle;
    try {
      handle = await this.storage.openPartial(row.storageName);
    } catch {
      // The partial file is gone (lost data dir content): nothing can be resumed.
      this.logger.warn(`upload ${row.id} has no partial file; dropping it`);
      await this.discard(row);
      return null;
    }
    return this.open(row, handle, bitmap);
  }
}
