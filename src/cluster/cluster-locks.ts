import { KeyedMutex } from '../common/keyed-mutex.js';

/**
 * Runs while holding a lock. `lost` is aborted if the lock stops being held before `fn` settles
 * (the database connection that held it broke): long work should check it and stop.
 */
export type LockedWork<T> = (lost: AbortSignal) => Promise<T>;

/**
 * Mutual exclusion by name among every instance sharing one database: while `run(name, fn)` runs
 * `fn`, no other `run` of the same name runs anywhere. Names are opaque strings.
 */
export abstract class ClusterLocks {
  /** Runs `fn` once every earlier holder of `name` (in any instance) has released it. */
  abstract run<T>(name: string, fn: LockedWork<T>): Promise<T>;
}

/** Never aborted: an in-process lock cannot be lost. */
const NEVER_LOST = new AbortController().signal;

/** One process is the whole cluster (SQLite): an in-process mutex per name is enough. */
export class LocalClusterLocks extends ClusterLocks {
  private readonly mutex = new KeyedMutex();

  run<T>(name: string, fn: LockedWork<T>): Promise<T> {
    return this.mutex.run(name, () => fn(NEVER_LOST));
  }
}
