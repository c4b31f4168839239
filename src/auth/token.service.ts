import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { IsNull, type Repository } from 'typeorm';
import { Clock } from '../common/clock.js';
import { sha256Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepStatus, type StepSession } from '../transport/index.js';
import { issueLegacyToken, verifyLegacyToken } from './legacy-token.js';
import { SessionEntity } from './session.entity.js';

/** Sessions kept in memory so the per-block token check costs a map lookup, not a query. */
const CACHE_LIMIT = 10_000;

function forbidden(message: string): StepError {
  return new StepError(StepStatus.TOKEN_INVALID, message);
}

/** Issues tokens, checks them on every request and keeps their sessions in SQLite. */
@Injectable()
export class TokenService {
  private readonly cache = new Map<string, SessionEntity>();

  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly clock: Clock,
  ) {}

  /** Opens a session for `username` and returns its token (legacy format, spec A4). */
  async issue(username: string, remoteAddress: string | null): Promise<string> {
    const now = this.clock.now();
    const token = issueLegacyToken(username, now, this.config.auth.tokenSecret);
    const tokenHash = sha256Hex(token);
    const expiresAt = now + this.config.auth.tokenTtlSeconds * 1000;
    // Two LOGINs of one user within one second get the same legacy token: renew that session.
    const existing = await this.sessions.findOneBy({ tokenHash });
    if (existing) {
      await this.sessions.update({ id: existing.id }, { expiresAt, lastSeenAt: now, revokedAt: null });
    } else {
      await this.sessions.insert({
        id: randomUUID(),
        username,
        tokenHash,
        kind: 'legacy',
        remoteAddress,
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
        revokedAt: null,
      });
    }
    this.cache.delete(token);
    return token;
  }

  /** Resolves a request's token to its session, or throws the 403 of spec A3.6. */
  async authenticate(token: unknown): Promise<StepSession> {
    if (token === undefined || token === null || token === '') throw forbidden('No token.');
    if (typeof token !== 'string') throw forbidden('Token format is wrong.');
    let session = this.cache.get(token);
    if (!session) {
      const problem = verifyLegacyToken(token, this.config.auth.tokenSecret);
      if (problem === 'format') throw forbidden('Token format is wrong.');
      if (problem === 'signature') throw forbidden('Token is wrong.');
      const stored = await this.sessions.findOneBy({ tokenHash: sha256Hex(token) });
      if (!stored || stored.revokedAt !== null) throw forbidden('Token is wrong.');
      session = stored;
      this.remember(token, session);
    }
    if (session.expiresAt <= this.clock.now()) {
      this.cache.delete(token);
      throw forbidden('Token expired.');
    }
    return { username: session.username, sessionId: session.id };
  }

  /** Revokes one session; its token is refused from the next request on. */
  async revoke(sessionId: string): Promise<boolean> {
    const result = await this.sessions.update({ id: sessionId, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    for (const [token, session] of this.cache) if (session.id === sessionId) this.cache.delete(token);
    return (result.affected ?? 0) > 0;
  }

  private remember(token: string, session: SessionEntity): void {
    if (this.cache.size >= CACHE_LIMIT) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, session);
  }
}
