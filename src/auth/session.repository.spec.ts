import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgScratch, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { StepConfigModule } from '../config/config.module.js';
import { loadConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from '../database/database.options.js';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';

function session(id: string, tokenHash: string, username = 'alice'): SessionEntity {
  return {
    id,
    username,
    tokenHash,
    kind: 'legacy',
    remoteAddress: '127.0.0.1',
    createdAt: 1_764_000_000_000,
    lastSeenAt: 1_764_000_000_000,
    expiresAt: 1_764_000_600_000,
    revokedAt: null,
  };
}

// The same behaviour from the prepared statements (SQLite) and the TypeORM calls (PostgreSQL).
describe.each(['sqlite', 'postgres'] as const)('SessionRepository on %s', (engine) => {
  let module: TestingModule;
  let repository: SessionRepository;
  let dataDir: string;
  let pg: PgScratch | null = null;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-sessions-'));
    if (engine === 'postgres') {
      pg = await createPgScratch();
      await pg.dataSource.destroy();
    }
    const config = loadConfig({ STEP_DATA_DIR: dataDir, ...(pg ? { STEP_DATABASE_URL: pg.url } : {}) });
    module = await Test.createTestingModule({
      imports: [
        StepConfigModule.forRoot(config),
        TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), autoLoadEntities: true }),
        TypeOrmModule.forFeature([SessionEntity]),
      ],
      providers: [SessionRepository],
    }).compile();
    await module.init();
    repository = module.get(SessionRepository);
  });
  afterAll(async () => {
    await module?.close();
    await pg?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('finds an inserted session by its token hash, with every field as stored', async () => {
    expect(await repository.insert(session('s-1', 'hash-1'))).toBe(true);
    expect(await repository.findByTokenHash('hash-1')).toEqual(session('s-1', 'hash-1'));
    expect(await repository.findByTokenHash('hash-unknown')).toBeNull();
  });

  it('refuses a second session with the same token hash (false, not an error)', async () => {
    expect(await repository.insert(session('s-2', 'hash-2'))).toBe(true);
    expect(await repository.insert(session('s-3', 'hash-2', 'bob'))).toBe(false);
    expect(await repository.findByTokenHash('hash-2')).toMatchObject({ id: 's-2', username: 'alice' });
  });

  it('renews an open session and never a revoked one', async () => {
    await repository.insert(session('s-4', 'hash-4'));
    expect(await repository.renewOpen('s-4', 1_764_001_000_000, 1_764_000_500_000)).toBe(true);
    expect(await repository.findByTokenHash('hash-4')).toMatchObject({ expiresAt: 1_764_001_000_000, lastSeenAt: 1_764_000_500_000 });
    await module.get(DataSource).query(`UPDATE "sessions" SET "revoked_at" = 1 WHERE "id" = 's-4'`);
    expect(await repository.renewOpen('s-4', 1_764_002_000_000, 1_764_000_600_000)).toBe(false);
    expect(await repository.findByTokenHash('hash-4')).toMatchObject({ expiresAt: 1_764_001_000_000, revokedAt: 1 });
    expect(await repository.renewOpen('no-such-id', 1, 1)).toBe(false);
  });
});
