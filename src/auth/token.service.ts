import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { IsNull, LessThan, type Repository } from 'typeorm';
import { ClusterEvents } from '../cluster/cluster-events.js';
import { Clock } from '../common/clock.js';
import { sha256Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepStatus } from '../protocol/index.js';
import { type StepSession } from '../transport/index.js';
import { issueLegacyToken, verifyLegacyToken } from './legacy-token.js';
import { isRandomTokenFormat, issueRandomToken } from './random-token.js';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';

/** Sessions kept in memory so the per-block token check costs a map lookup, not a query. */
const CACHE_LIMIT = 10_000;
/**
 * How long a cached session is trusted before its row is read again. Revocations made in this
 * process evict the cache at once, and on PostgreSQL every instance is told of them (REVOKED_CHANNEL,
 * `stepd users` included); when an instance's LISTEN connection was down, it drops its whole cache
 * on reconnecting. This bounds how long a revocation nobody announced takes to bite (`stepd users rm`
 * on SQLite, another process). A shorter recheck on PostgreSQL was measured at ~0.7 ms of CPU per
 * active token per recheck: one core per ~1,400 active tokens at 1 s.
 */
export const CACHE_RECHECK_MS = 5_000;
/** Cluster channel of revocations: `session:<id>` or `user:<name>`. */
const REVOKED_CHANNEL = 'stepd_sessions_revoked';
/** Ended sessions stay listed this long (for the admin API), then their rows are deleted. */
const PURGE_AFTER_MS = 24 * 3600 * 1000;
/** Purges run at most this often, from LOGIN (no timer to stop at shutdown). */
const PURGE_INTERVAL_MS = 3600 * 1000;

/** A legacy LOGIN renews its session only when that moves the expiry by at least this much (the tokens' resolution). */
const LEGACY_RENEW_RESOLUTION_MS = 1_000;

/** Later seconds tried for a legacy token before giving up (each collision needs another user). */
const LEGACY_STAMP_ATTEMPTS = 16;

/** A token just issued and the session it opened. */
export interface IssuedSession {
  token: string;
  sessionId: string;
}

interface CachedSession {
  session: SessionEntity;
  checkedAt: number;
}

/** A session as the admin API shows it (never the token or its hash). */
export interface SessionView {
  id: string;
  username: string;
  kind: SessionEntity['kind'];
  created_at: string;
  expires_at: string;
  revoked: boolean;
}

function forbidden(message: string): StepError {
  return new StepError(StepStatus.TOKEN_INVALID, message);
}

/**
 * Issues tokens, checks them on every request and keeps their sessions in the database. Legacy mode
 * issues docs/protocol.md §3 tokens; accounts mode 256-bit random ones. Either way only the SHA-256 of a
 * token is stored, and a session may expire or be revoked.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger('TokenService');
  private readonly cache = new Map<string, CachedSession>();
  private readonly kind: SessionEntity['kind'];

  /** Bumped by every eviction, so a lookup that raced with a revocation is not cached. */
  private evictions = 0;
  private lastPurgeAt = 0;

  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly clock: Clock,
    private readonly events: ClusterEvents,
    private readonly store: SessionRepository,
  ) {
    this.kind = config.auth.mode === 'accounts' ? 'random' : 'legacy';

    events.subscribe(REVOKED_CHANNEL, (message) => this.revoked(message));
    // Revocations may have been missed: every cached session is read again on its next use.
    events.onGap(() => this.evict(() => true));
  }

  /** Opens a session for `username` and returns its token and session id. */
  async issue(username: string, remoteAddress: string | null): Promise<IssuedSession> {
    const now = this.clock.now();
    const expiresAt = now + this.config.auth.tokenTtlSeconds * 1000;
    for (let attempt = 0; attempt < LEGACY_STAMP_ATTEMPTS; attempt++) {
      // A docs/protocol.md §3 token is a function of the user name (`.` mapped to `_`) and the second, so
      // `a.b` and `a_b`, or a user who logged out, can meet a token already in use: then the
      // token of a later second is issued (legacy tokens are checked by signature, not clock).
      const token =
        this.kind === 'random' ? issueRandomToken() : issueLegacyToken(username, now + attempt * 1000, this.config.auth.tokenSecret);
      const tokenHash = sha256Hex(token);
      const existing = this.kind === 'legacy' ? await this.store.findByTokenHash(tokenHash) : null;
      let sessionId: string | null;
      if (existing) {
        sessionId = await this.renew(existing, username, now, expiresAt);
      } else {
        sessionId = randomUUID();
        if (
          !(await this.store.insert({
            id: sessionId,
            username,
            tokenHash,
            kind: this.kind,
            remoteAddress,
            createdAt: now,
            lastSeenAt: now,
            expiresAt,
            revokedAt: null,
          }))
        )
          sessionId = null;
      }
      if (sessionId === null) continue;
      this.cache.delete(token);
      await this.purgeIfDue(now);
      return { token, sessionId };
    }
    throw new StepError(StepStatus.INTERNAL, 'No session could be opened; try again.');
  }

  /**
   * Two legacy LOGINs of one user within one second get the same token: the open session is
   * renewed. A session of another user, or one that was revoked, is never handed out (null).
   */
  private async renew(existing: SessionEntity, username: string, now: number, expiresAt: number): Promise<string | null> {
    if (existing.username !== username || existing.kind !== this.kind || existing.revokedAt !== null) return null;
    // The same docs/protocol.md §3 token again means the same second (or one of the seconds tried for
    // collisions): renewing would move the expiry by less than the token's own resolution, so the row
    // (a durable write per LOGIN) is left as it is. A revocation after the read above is refused at the
    // token's next use (issue() drops the cached entry), as one made just after this LOGIN would be.
    if (expiresAt - existing.expiresAt < LEGACY_RENEW_RESOLUTION_MS) return existing.id;
    // Conditional on still being open: a revocation between the read and this write wins.
    return (await this.store.renewOpen(existing.id, expiresAt, now)) ? existing.id : null;
  }

  /**
   * The session of a token the cache vouches for (checked within CACHE_RECHECK_MS, not expired),
   * else null and authenticate() decides. Lets the guard pass most requests without a promise.
   */
  cachedSession(token: unknown): StepSession | null {
    if (typeof token !== 'string') return null;
    const cached = this.cache.get(token);
    if (cached === undefined) return null;
    const now = this.clock.now();
    if (now - cached.checkedAt >= CACHE_RECHECK_MS || cached.session.expiresAt <= now) return null;
    return { username: cached.session.username, sessionId: cached.session.id };
  }

  /** Resolves a request's token to its session, or throws the 403 of docs/protocol.md §2. */
  async authenticate(token: unknown): Promise<StepSession> {
    if (token === undefined || token === null || token === '') throw forbidden('No token.');
    if (typeof token !== 'string') throw forbidden('Token format is wrong.');
    const now = this.clock.now();
    const cached = this.cache.get(token);
    let session: SessionEntity;
    if (cached && now - cached.checkedAt < CACHE_RECHECK_MS) {
      session = cached.session;
    } else {
      if (!cached) this.checkFormat(token);
      const evictions = this.evictions;
      const stored = await this.store.findByTokenHash(sha256Hex(token));
      // A session of the other kind was issued before a mode switch: it does not count now.
      if (!stored || stored.revokedAt !== null || stored.kind !== this.kind) {
        this.cache.delete(token);
        throw forbidden('Token is wrong.');
      }
      session = stored;
      if (evictions === this.evictions) this.remember(token, { session, checkedAt: now });
    }
    if (session.expiresAt <= now) {
      this.cache.delete(token);
      throw forbidden('Token expired.');
    }
    return { username: session.username, sessionId: session.id };
  }

  /** Revokes one session; its token is refused from the next request on. False for an unknown id. */
  async revoke(sessionId: string): Promise<boolean> {
    if (!(await this.sessions.existsBy({ id: sessionId }))) return false;
    await this.sessions.update({ id: sessionId, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    this.evict((session) => session.id === sessionId);
    await this.announce(`session:${sessionId}`);
    return true;
  }

  /** Revokes every open session of a user (password changed, account removed). Returns how many. */
  async revokeUser(username: string): Promise<number> {
    const result = await this.sessions.update({ username, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    this.evict((session) => session.username === username);
    await this.announce(`user:${username}`);
    return result.affected ?? 0;
  }

  /** Tells every instance to drop a revoked session from its cache. */
  private async announce(message: string): Promise<void> {
    try {
      await this.events.publish(REVOKED_CHANNEL, message);
    } catch (err) {
      // The row is revoked already; the other instances see it at their next recheck.
      this.logger.warn(`revocation not announced to the other instances: ${(err as Error).message}`);
    }
  }

  /** A revocation announced by an instance (this one included). */
  private revoked(message: string): void {
    const separator = message.indexOf(':');
    const what = message.slice(0, separator);
    const value = message.slice(separator + 1);
    if (what === 'session') this.evict((session) => session.id === value);
    else if (what === 'user') this.evict((session) => session.username === value);
  }

  /** True if `username` has a session row (open or recently ended). */
  hasSessionOf(username: string): Promise<boolean> {
    return this.sessions.existsBy({ username });
  }

  /** The `limit` most recent sessions, newest first. */
  async list(limit: number): Promise<SessionView[]> {
    const rows = await this.sessions.find({ order: { createdAt: 'DESC' }, take: limit });
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      kind: row.kind,
      created_at: new Date(row.createdAt).toISOString(),
      expires_at: new Date(row.expiresAt).toISOString(),
      revoked: row.revokedAt !== null,
    }));
  }

  /** Deletes the rows of sessions that expired or were revoked more than a day ago, so the table stays small. */
  private async purgeIfDue(now: number): Promise<void> {
    if (now - this.lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.lastPurgeAt = now;
    const before = LessThan(now - PURGE_AFTER_MS);
    await this.sessions.delete({ expiresAt: before });
    await this.sessions.delete({ revokedAt: before });
  }

  /** Refuses, before any query, a token that cannot have been issued in the current mode. */
  private checkFormat(token: string): void {
    if (this.kind === 'random') {
      // Accounts mode: legacy-format tokens (forged or from before a mode switch) are refused here.
      if (!isRandomTokenFormat(token)) throw forbidden('Token format is wrong.');
      return;
    }
    const problem = verifyLegacyToken(token, this.config.auth.tokenSecret);
    if (problem === 'format') throw forbidden('Token format is wrong.');
    if (problem === 'signature') throw forbidden('Token is wrong.');
  }

  private evict(matches: (session: SessionEntity) => boolean): void {
    this.evictions++;
    for (const [token, entry] of this.cache) if (matches(entry.session)) this.cache.delete(token);
  }

  private remember(token: string, entry: CachedSession): void {
    this.cache.delete(token);
    if (this.cache.size >= CACHE_LIMIT) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, entry);
  }
}
