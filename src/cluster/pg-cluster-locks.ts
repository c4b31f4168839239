import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { KeyedMutex } from '../common/keyed-mutex.js';
import { ClusterLockLostError, ClusterLockTimeoutError } from './cluster.errors.js';
import { ClusterLocks, lockOrder, underEach, type LockedWork } from './cluster-locks.js';

/**
 * Connections of the lock pool: one per name held or awaited at once by this instance. Small on
 * purpose; the holders' own queries go through TypeORM's pool, never this one.
 */
export const LOCK_POOL_SIZE = 4;
/**
 * Longest wait for a lock (or for a connection of the lock pool) before the caller gets a 503.
 * Holders are short (a SAVE, a completion); a wait this long means one is stuck, e.g. on a hung
 * shared volume, and piling requests up behind it would only exhaust the pool.
 */
export const LOCK_WAIT_TIMEOUT_MS = 30_000;

/** PostgreSQL's SQLSTATE for "lock_timeout expired". */
const LOCK_NOT_AVAILABLE = '55P03';

/** Tunables of PgClusterLocks (tests shorten the wait). */
export interface PgClusterLocksOptions {
  poolSize?: number;
  waitTimeoutMs?: number;
}

/**
 * Cluster locks as PostgreSQL session-level advisory locks, keyed by `hashtextextended(name, 0)`
 * (a 64-bit hash: two names that collide only serialise each other, they never share a holder).
 *
 * Each lock is held on a connection of a small dedicated pool: the holder's work runs on the main
 * pool, and sharing one pool would deadlock once every connection held a lock whose holder waited
 * for a connection. Advisory locks are re-entrant per session, so a KeyedMutex in front keeps one
 * holder per name in this instance. Holders must not nest locks (each would take a connection, and
 * a full pool of outer holders would wait forever for inner ones): several names are taken together,
 * in order, on one connection.
 *
 * If the holding connection breaks while `fn` runs, PostgreSQL has already released the lock:
 * the error is logged at once, `fn`'s signal is aborted, and `run` rejects with
 * ClusterLockLostError whatever `fn` returned.
 */
export class PgClusterLocks extends ClusterLocks implements OnApplicationShutdown {
  private readonly logger = new Logger('ClusterLocks');
  private readonly mutex = new KeyedMutex();
  private readonly pool: pg.Pool;

  constructor(url: string, options: PgClusterLocksOptions = {}) {
    super();
    const waitMs = options.waitTimeoutMs ?? LOCK_WAIT_TIMEOUT_MS;
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? LOCK_POOL_SIZE,
      application_name: 'stepd-locks',
      // lock_timeout bounds pg_advisory_lock; connectionTimeoutMillis bounds the wait for a pool slot.
      lock_timeout: waitMs,
      connectionTimeoutMillis: waitMs,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection that dies is dropped by the pool; without a listener the error would crash the process.
    this.pool.on('error', (err) => this.logger.warn(`idle lock connection failed: ${err.message}`));
  }

  run<T>(names: string | readonly string[], fn: LockedWork<T>): Promise<T> {
    const ordered = lockOrder(names);
    return underEach(this.mutex, ordered, () => this.hold(ordered, fn));
  }

  /** Ends the lock pool once the holders released their connections. */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  /** Takes every name's advisory lock on one connection, in order, runs `fn`, releases them. */
  private async hold<T>(names: readonly string[], fn: LockedWork<T>): Promise<T> {
    const name = names.join(', ');
    const client = await this.connect(name);
    const lost = new AbortController();
    const broken = (err?: Error): void => {
      if (lost.signal.aborted) return;
      const reason = err?.message ?? 'connection ended';
      this.logger.error(`lock "${name}" lost while held: ${reason}`);
      lost.abort(new ClusterLockLostError(name, reason));
    };
    const ended = (): void => broken();
    client.on('error', broken);
    client.on('end', ended);
    const locked: string[] = [];
    let reusable = true;
    try {
      try {
        for (const one of names) {
          await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [one]);
          locked.push(one);
        }
      } catch (err) {
        if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) throw new ClusterLockTimeoutError(name);
        reusable = false;
        throw err;
      }
      const result = await fn(lost.signal);
      if (lost.signal.aborted) throw lost.signal.reason;
      return result;
    } catch (err) {
      throw lost.signal.aborted ? lost.signal.reason : err;
    } finally {
      if (locked.length > 0 && !lost.signal.aborted) {
        try {
          for (const one of locked.reverse()) await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [one]);
        } catch (err) {
          // Not unlocked: destroying the connection ends the session, which releases the lock.
          this.logger.warn(`unlock of "${name}" failed: ${(err as Error).message}`);
          reusable = false;
        }
      }
      client.off('error', broken);
      client.off('end', ended);
      client.release(lost.signal.aborted || !reusable);
    }
  }

  private async connect(name: string): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      // pg's pool says so when no connection freed up within connectionTimeoutMillis.
      if (/timeout exceeded when trying to connect/.test((err as Error).message)) throw new ClusterLockTimeoutError(name);
      throw err;
    }
  }
}
