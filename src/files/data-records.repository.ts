import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SqlRunner } from '../database/sql-runner.js';

/**
 * How long a per-user record count read from PostgreSQL is trusted. Other instances change it
 * without telling this one, so a cached count is short-lived there, and re-read before any
 * refusal (see reserve()).
 */
const SHARED_COUNT_TTL_MS = 1000;

interface CachedCount {
  count: number;
  readAt: number;
}

/**
 * The `data_records` table (DATA, docs/protocol.md §7, §8) and the per-user record count that
 * the limit check runs on every SAVE. Counting an index range is linear in the user's records, so
 * the count is cached: on SQLite forever (only this process writes the table, and reservations
 * keep it exact), on PostgreSQL for a second, and always re-read from the database before a SAVE
 * is refused. With several instances the limit can thus be passed by the SAVEs that other
 * instances make in the same second as one that reaches it; it is a limit against abuse, not an
 * exact quota.
 */
@Injectable()
export class DataRecordStore {
  private readonly counts = new Map<string, CachedCount>();

  constructor(
    private readonly db: SqlRunner,
    private readonly clock: Clock,
  ) {}

  /** True when the user has a record under `key`. */
  async exists(username: string, key: string): Promise<boolean> {
    return (await this.db.get(`SELECT 1 AS found FROM data_records WHERE username = ? AND key = ?`, [username, key])) !== undefined;
  }

  /**
   * Counts one more record for `username` if that stays within `limit`; false when it would not.
   * The check and the increment run with no await in between, so concurrent SAVEs of one
   * instance cannot both take the last slot. Undo with release() when the insert does not happen.
   */
  async reserve(username: string, limit: number): Promise<boolean> {
    let cached = this.fresh(username);
    if (!cached || cached.count + 1 >= limit) cached = await this.read(username);
    if (cached.count >= limit) return false;
    cached.count++;
    return true;
  }

  /** Gives back a slot reserve() took (the insert failed or found the key taken). */
  release(username: string): void {
    const cached = this.counts.get(username);
    if (cached) cached.count--;
  }

  /** Inserts a record; false when the user already has one under `key` (the unique index decides). */
  async insert(id: string, username: string, key: string, body: string, createdAt: number): Promise<boolean> {
    const changes = await this.db.run(
      `INSERT INTO data_records (id, username, key, body, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, key) DO NOTHING`,
      [id, username, key, body, createdAt],
    );
    return changes === 1;
  }

  /** The stored JSON text of a record, or undefined. */
  async body(username: string, key: string): Promise<string | undefined> {
    return (await this.db.get<{ body: string }>(`SELECT body FROM data_records WHERE username = ? AND key = ?`, [username, key]))?.body;
  }

  /** Deletes a record; false when there was none. */
  async delete(username: string, key: string): Promise<boolean> {
    if ((await this.db.run(`DELETE FROM data_records WHERE username = ? AND key = ?`, [username, key])) === 0) return false;
    this.release(username);
    return true;
  }

  /** The user's keys under a prefix, in key order from after `after`. */
  async keys(username: string, prefix: string, after: string, limit: number): Promise<string[]> {
    const rows = await this.db.all<{ key: string }>(
      `SELECT key FROM data_records WHERE username = ? AND substr(key, 1, length(?)) = ? AND key > ? ORDER BY key LIMIT ?`,
      [username, prefix, prefix, after, limit],
    );
    return rows.map((r) => r.key);
  }

  private fresh(username: string): CachedCount | undefined {
    const cached = this.counts.get(username);
    if (!cached) return undefined;
    if (this.db.kind === 'postgres' && this.clock.now() - cached.readAt > SHARED_COUNT_TTL_MS) return undefined;
    return cached;
  }

  private async read(username: string): Promise<CachedCount> {
    const row = await this.db.get<{ count: number }>(`SELECT COUNT(*) AS count FROM data_records WHERE username = ?`, [username]);
    // A count read while this process had inserts in flight may miss them: keep the larger.
    const known = this.counts.get(username);
    const count = Number(row?.count ?? 0);
    const cached = { count: known && this.db.kind === 'sqlite' ? Math.max(known.count, count) : count, readAt: this.clock.now() };
    this.counts.set(username, cached);
    return cached;
  }
}
