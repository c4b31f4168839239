import { KeyedMutex } from '../common/keyed-mutex.js';

/**
 * Mutual exclusion by name among every instance sharing one database: while `run(name, fn)` runs
 * `fn`, no other `run` of the same name runs anywhere. Names are opaque strings.
 */
export abstract class ClusterLocks {
  /** Runs `fn` once every earlier holder of `name` (in any instance) has released it. */
  abstract run<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** One process is the whole cluster (SQLite): an in-process mutex per name is enough. */
export class LocalClusterLocks extends ClusterLocks {
  private readonly mutex = new KeyedMutex();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(name, fn);
  }
}
