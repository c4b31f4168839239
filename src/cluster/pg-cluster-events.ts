import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { checkChannel, ClusterEvents, type ClusterListener } from './cluster-events.js';
import type { SqlQuery } from './sql-query.js';

/** First delay before reconnecting the LISTEN connection; doubled per failure up to the maximum. */
export const RECONNECT_MIN_MS = 100;
/** Longest delay between reconnection attempts. */
export const RECONNECT_MAX_MS = 5_000;

/** Length of the sender id (a UUID) that prefixes every payload. */
const ORIGIN_LENGTH = 36;

/**
 * Cluster events over PostgreSQL LISTEN/NOTIFY. Publishing is `pg_notify` on the main pool; one
 * dedicated connection LISTENs to every subscribed channel. A message reaches this instance's
 * listeners at once, and the others' when the notifying transaction commits; payloads carry the
 * sender's id so the echo from PostgreSQL is not delivered twice.
 *
 * When the LISTEN connection breaks it is reopened with a backoff (RECONNECT_MIN_MS doubling to
 * RECONNECT_MAX_MS); notifications sent meanwhile are lost, so once it is back the gap listeners
 * are called and rebuild what they derived from messages.
 */
export class PgClusterEvents extends ClusterEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('ClusterEvents');
  private readonly origin = randomUUID();
  private readonly listeners = new Map<string, Set<ClusterListener>>();
  private readonly gapListeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly query: SqlQuery,
  ) {
    super();
  }

  /** Opens the LISTEN connection (fails loudly when the database cannot be reached at startup). */
  async start(): Promise<void> {
    await this.connect();
  }

  async publish(channel: string, message: string): Promise<void> {
    checkChannel(channel);
    this.deliver(channel, message);
    await this.query('SELECT pg_notify($1, $2)', [channel, `${this.origin}${message}`]);
  }

  subscribe(channel: string, listener: ClusterListener): void {
    checkChannel(channel);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      const client = this.client;
      // A failure here breaks the connection; reconnecting LISTENs to every channel again.
      client?.query(`LISTEN ${channel}`).catch((err: unknown) => this.lost(client, err as Error));
    }
    set.add(listener);
  }

  onGap(listener: () => void): void {
    this.gapListeners.add(listener);
  }

  /** Closes the LISTEN connection and stops reconnecting. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'stepd-events', keepAlive: true });
    client.on('notification', (note) => this.received(note));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.listeners.keys()) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private received(note: pg.Notification): void {
    const payload = note.payload ?? '';
    // This instance's own messages were delivered when published.
    if (payload.startsWith(this.origin)) return;
    this.deliver(note.channel, payload.slice(ORIGIN_LENGTH));
  }

  private deliver(channel: string, message: string): void {
    for (const listener of this.listeners.get(channel) ?? []) {
      try {
        listener(message);
      } catch (err) {
        this.logger.error(`listener of "${channel}" failed: ${(err as Error).message}`);
      }
    }
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn(`LISTEN connection lost (${err?.message ?? 'ended'}); reconnecting`);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          if (this.closed) return;
          this.retryMs = RECONNECT_MIN_MS;
          this.logger.log('LISTEN connection restored');
          for (const listener of this.gapListeners) {
            try {
              listener();
            } catch (err) {
              this.logger.error(`gap listener failed: ${(err as Error).message}`);
            }
          }
        },
        (err: unknown) => {
          this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
          this.logger.warn(`reconnect failed (${(err as Error).message}); next try in ${this.retryMs} ms`);
          if (!this.closed) this.reconnectLater();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
