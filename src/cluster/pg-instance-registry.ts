import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { InstanceRegistry } from './instance-registry.js';
import { DB_NOW_MS, type SqlQuery } from './sql-query.js';

/** How often an instance renews its lease. */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/**
 * An instance whose last heartbeat is older than this is dead: its uploads may be recovered and
 * swept by the others. Five heartbeats, so a slow query or a GC pause never ends a live lease,
 * and a killed instance's work is free again within ten seconds.
 */
export const LEASE_MS = 10_000;
/** Rows of dead instances are deleted after this long (they only help someone reading the table). */
const DEAD_ROW_RETENTION_MS = 24 * 3600 * 1000;

/** Timing of PgInstanceRegistry (specs shorten both). */
export interface InstanceLeaseTiming {
  heartbeatMs: number;
  leaseMs: number;
}

/**
 * Instances as rows of the `instances` table (id, name, started_at, heartbeat_at), leases judged
 * on the database's clock so the hosts' clocks never matter. The row is written before the
 * registry is handed to anyone (start()), renewed every HEARTBEAT_INTERVAL_MS by an unref'd
 * timer, and deleted on a graceful shutdown; a killed instance's row simply stops being renewed.
 *
 * An instance that cannot reach the database for a whole lease is dead to the others: it logs
 * an error, and writes its row again once the database answers.
 */
export class PgInstanceRegistry extends InstanceRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger('InstanceRegistry');
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private lastRenewedAt = 0;
  /** What the log already said about failing heartbeats: once per outage, not per beat. */
  private reported: 'none' | 'failing' | 'lapsed' = 'none';

  constructor(
    private readonly query: SqlQuery,
    name: string,
    private readonly timing: InstanceLeaseTiming = { heartbeatMs: HEARTBEAT_INTERVAL_MS, leaseMs: LEASE_MS },
  ) {
    super(name);
  }

  /** Registers this instance and starts renewing its lease. */
  async start(): Promise<void> {
    await this.renew();
    await this.query(`DELETE FROM "instances" WHERE "heartbeat_at" < ${DB_NOW_MS} - $1`, [DEAD_ROW_RETENTION_MS]);
    this.timer = setInterval(() => this.beat(), this.timing.heartbeatMs);
    // The heartbeat alone never keeps a process alive (a CLI or a test that forgot to close).
    this.timer.unref();
  }

  async liveInstances(): Promise<ReadonlySet<string>> {
    const rows = await this.query(`SELECT "id" FROM "instances" WHERE "heartbeat_at" > ${DB_NOW_MS} - $1`, [this.timing.leaseMs]);
    return new Set(rows.map((row) => row.id as string));
  }

  /** Stops the heartbeat and deletes this instance's row: the others may take over at once. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    try {
      await this.query(`DELETE FROM "instances" WHERE "id" = $1 RETURNING "id"`, [this.self]);
    } catch (err) {
      // The lease then simply runs out.
      this.logger.warn(`could not remove this instance's row: ${(err as Error).message}`);
    }
  }

  private beat(): void {
    if (this.beating) return;
    this.beating = this.renew()
      .catch((err: unknown) => {
        const silentMs = Date.now() - this.lastRenewedAt;
        if (silentMs > this.timing.leaseMs && this.reported !== 'lapsed') {
          this.reported = 'lapsed';
          this.logger.error(`lease lapsed: no heartbeat for ${silentMs} ms; other instances may take over this one's uploads`);
        } else if (this.reported === 'none') {
          this.reported = 'failing';
          this.logger.warn(`heartbeat failed: ${(err as Error).message}`);
        }
      })
      .finally(() => {
        this.beating = null;
      });
  }

  /** Writes the heartbeat; re-inserts the row if it was deleted (an expired lease removed by someone). */
  private async renew(): Promise<void> {
    await this.query(
      `INSERT INTO "instances" ("id", "name", "started_at", "heartbeat_at") VALUES ($1, $2, ${DB_NOW_MS}, ${DB_NOW_MS})
       ON CONFLICT ("id") DO UPDATE SET "heartbeat_at" = EXCLUDED."heartbeat_at" RETURNING "id"`,
      [this.self, this.name],
    );
    this.lastRenewedAt = Date.now();
    if (this.reported !== 'none') this.logger.log('heartbeat renewed');
    this.reported = 'none';
  }
}
