import { describe, expect, it } from 'vitest';
import type { Repository } from 'typeorm';
import { LocalClusterEvents } from '../cluster/cluster-events.js';
import type { Clock } from '../common/clock.js';
import type { StepConfig } from '../config/step.config.js';
import type { SessionEntity } from './session.entity.js';
import type { SessionRepository } from './session.repository.js';
import { CACHE_RECHECK_MS, TokenService } from './token.service.js';

/** A TokenService in accounts mode over in-memory session rows, with a clock the test moves. */
function tokenService(ttlSeconds = 3600) {
  const rows = new Map<string, SessionEntity>();
  const clock = { time: 1_000_000, now: () => clock.time };
  const store = {
    findByTokenHash: async (hash: string) => [...rows.values()].find((row) => row.tokenHash === hash) ?? null,
    insert: async (row: SessionEntity) => {
      rows.set(row.id, { ...row });
      return true;
    },
  };
  const sessions = {
    existsBy: async ({ id }: { id: string }) => rows.has(id),
    update: async ({ id }: { id: string }, { revokedAt }: { revokedAt: number }) => {
      rows.get(id)!.revokedAt = revokedAt;
      return { affected: 1 };
    },
  };
  const config = { auth: { mode: 'accounts', tokenTtlSeconds: ttlSeconds, tokenSecret: 'secret' } } as unknown as StepConfig;
  const service = new TokenService(
    sessions as unknown as Repository<SessionEntity>,
    config,
    clock as unknown as Clock,
    new LocalClusterEvents(),
    store as unknown as SessionRepository,
  );
  return { service, clock };
}

describe('TokenService.cachedSession', () => {
  it('vouches for a token only once authenticate() has checked it, and only while that check is fresh', async () => {
    const { service, clock } = tokenService();
    const { token, sessionId } = await service.issue('ann', null);
    expect(service.cachedSession(token)).toBeNull();
    expect(await service.authenticate(token)).toEqual({ username: 'ann', sessionId });
    expect(service.cachedSession(token)).toEqual({ username: 'ann', sessionId });
    clock.time += CACHE_RECHECK_MS;
    expect(service.cachedSession(token)).toBeNull();
    await service.authenticate(token);
    expect(service.cachedSession(token)).toEqual({ username: 'ann', sessionId });
    expect(service.cachedSession(undefined)).toBeNull();
    expect(service.cachedSession(42)).toBeNull();
  });

  it('never vouches for a revoked or an expired session', async () => {
    const { service, clock } = tokenService(2);
    const first = await service.issue('bob', null);
    const second = await service.issue('cat', null);
    await service.authenticate(first.token);
    await service.authenticate(second.token);
    expect(await service.revoke(first.sessionId)).toBe(true);
    expect(service.cachedSession(first.token)).toBeNull();
    await expect(service.authenticate(first.token)).rejects.toThrow('Token is wrong.');
    expect(service.cachedSession(second.token)).not.toBeNull();
    clock.time += 2000;
    expect(service.cachedSession(second.token)).toBeNull();
    await expect(service.authenticate(second.token)).rejects.toThrow('Token expired.');
  });
});
