import { Injectable } from '@nestjs/common';
import { KeyedMutex } from '../common/keyed-mutex.js';
import type { ActiveUpload } from './active-upload.js';

/** Counters for metrics. */
export interface UploadStats {
  started: number;
  completed: number;
  failed: number;
}

/**
 * One string per (user, key) pair. JSON of the pair is injective: `user + "\n" + key` let user
 * `a\nb` with key `c` meet user `a` with key `b\nc`.
 */
function pairKey(username: string, key: string): string {
  return JSON.stringify([username, key]);
}

/**
 * The uploads held in memory, by user and key, and the per-key lock every change of an upload's
 * lifecycle runs under (plan, completion, cancel, expiry, loading after a restart), so none of
 * them sees another half done.
 */
@Injectable()
export class ActiveUploadRegistry {
  private readonly active = new Map<string, ActiveUpload>();
  private readonly locks = new KeyedMutex();
  readonly stats: UploadStats = { started: 0, completed: 0, failed: 0 };

  /** Number of uploads in memory. */
  get size(): number {
    return this.active.size;
  }

  /** Every upload in memory. */
  values(): IterableIterator<ActiveUpload> {
    return this.active.values();
  }

  /** The upload of a user's key, if in memory. */
  get(username: string, key: string): ActiveUpload | undefined {
    return this.active.get(pairKey(username, key));
  }

  /** Holds `upload` as the one of its user's key (replacing an older one). */
  add(upload: ActiveUpload): void {
    this.active.set(pairKey(upload.row.username, upload.row.key), upload);
  }

  /** Forgets `upload`, but only if it is still the one held for its key (not a newer plan). */
  remove(upload: ActiveUpload): void {
    const id = pairKey(upload.row.username, upload.row.key);
    if (this.active.get(id) === upload) this.active.delete(id);
  }

  /** Forgets every upload (shutdown). */
  clear(): void {
    this.active.clear();
  }

  /** Runs `fn` under the lock of one user's key. */
  withKey<T>(username: string, key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(pairKey(username, key), fn);
  }

  /** Runs `fn` under the lock of a user's whole account (upload count and quota checks). */
  withUser<T>(username: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(JSON.stringify([username]), fn);
  }
}
