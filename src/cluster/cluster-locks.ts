import { KeyedMutex } from '../common/keyed-mutex.js';

/**
 * Runs while holding a lock. `lost` is aborted if the lock stops being held before `fn` settles
 * (the database connection that held it broke): long work should check it and stop.
 */
export type LockedWork<T> = (lost: AbortSignal) => Promise<T>;

/**
 * Mutual exclusion by name among every instance sharing one database: while `run(name, fn)` runs
 * `fn`, no other `run` of the same name runs anywhere. Names are opaque strings. A holder never
 * takes a second lock inside `fn`; work that needs several names passes them all at once, and
 * they are taken in one global order (so two such holders cannot wait for each other).
 */
export abstract class ClusterLocks {
  /** Runs `fn` once every earlier holder of `names` (each of them, in any instance) has released it. */
  abstract run<T>(names: string | readonly string[], fn: LockedWork<T>): Promise<T>;
}

/** The distinct names of a run, in the one order every holder takes them. */
export function lockOrder(names: string | readonly string[]): string[] {
  return typeof names === 'string' ? [names] : [...new Set(names)].sort();
}

/** Runs `fn` under `mutex` for every name, taken in order. */
export function underEach<T>(mutex: KeyedMutex, ordered: readonly string[], fn: () => Promise<T>): Promise<T> {
  return ordered.reduceRight<() => Promise<T>>((inner, name) => () => mutex.run(name, inner), fn)();
}

/** Never aborted: an in-process lock cannot be lost. */
const NEVER_LOST = new AbortController().signal;

/** One process is the whole cluster (SQLite): an in-process mutex per name is enough. */
export class LocalClusterLocks extends ClusterLocks {
  private readonly mutex = new KeyedMutex();

  run<T>(names: string | readonly string[], fn: LockedWork<T>): Promise<T> {
    return underEach(this.mutex, lockOrder(names), () => fn(NEVER_LOST));
  }
}
