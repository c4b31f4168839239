import { Injectable } from '@nestjs/common';
import { ClusterLocks } from '../cluster/cluster-locks.js';
import type { ActiveUpload } from './active-upload.js';

/**
 * The lock name of a (user, key) pair. JSON of the pair is injective: `user + "\n" + key` let
 * user `a\nb` with key `c` meet user `a` with key `b\nc`.
 */
function keyLock(username: string, key: string): string {
  return `upload:${JSON.stringify([username, key])}`;
}

/** The lock name of a user's whole account (upload count and quota checks). */
function userLock(username: string): string {
  return `uploads-of:${JSON.stringify([username])}`;
}

/**
 * The uploads held in memory, by user and key, and the per-key lock every change of an upload's
 * lifecycle runs under (plan, completion, cancel, expiry, loading after a restart), so none of
 * them sees another half done. The locks are ClusterLocks: with several instances on one
 * database they exclude each other across instances too.
 */
@Injectable()
export class ActiveUploadRegistry {
  /** By user, then by key: a lookup per block builds no string. */
  private readonly active = new Map<string, Map<string, ActiveUpload>>();
  private count = 0;

  constructor(private readonly locks: ClusterLocks) {}

  /** Number of uploads in memory. */
  get size(): number {
    return this.count;
  }

  /** Every upload in memory. */
  *values(): IterableIterator<ActiveUpload> {
    for (const byKey of this.active.values()) yield* byKey.values();
  }

  /** The upload of a user's key, if in memory. */
  get(username: string, key: string): ActiveUpload | undefined {
    return this.active.get(username)?.get(key);
  }

  /** Holds `upload` as the one of its user's key (replacing an older one). */
  add(upload: ActiveUpload): void {
    const { username, key } = upload.row;
    let byKey = this.active.get(username);
    if (!byKey) this.active.set(username, (byKey = new Map()));
    if (!byKey.has(key)) this.count++;
    byKey.set(key, upload);
  }

  /** Forgets `upload`, but only if it is still the one held for its key (not a newer plan). */
  remove(upload: ActiveUpload): void {
    const { username, key } = upload.row;
    const byKey = this.active.get(username);
    if (byKey?.get(key) !== upload) return;
    byKey.delete(key);
    this.count--;
    if (byKey.size === 0) this.active.delete(username);
  }

  /** Forgets `upload` (as remove()) and closes it (ActiveUpload.close()). */
  async evict(upload: ActiveUpload): Promise<void> {
    this.remove(upload);
    await upload.close();
  }

  /** Closes and forgets every upload (shutdown). */
  async closeAll(): Promise<void> {
    for (const upload of this.values()) await upload.close();
    this.active.clear();
    this.count = 0;
  }

  /** Runs `fn` under the lock of one user's key. */
  withKey<T>(username: string, key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(keyLock(username, key), fn);
  }

  /** Runs `fn` under the lock of a user's whole account (upload count and quota checks). */
  withUser<T>(username: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(userLock(username), fn);
  }

  /** Runs `fn` under the locks of a user's key and of the user's whole account, taken together. */
  withKeyAndUser<T>(username: string, key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run([keyLock(username, key), userLock(username)], fn);
  }
}
