import { Test, type TestingModule } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgScratch, instanceBaseImports, type PgScratch } from '../../test/helpers/pg-scratch.js';
import { ClusterModule } from '../cluster/cluster.module.js';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { loadConfig } from '../config/step.config.js';
import { StepListenerStatus } from '../transport/step-listener-status.service.js';
import { DiskSpaceHealthIndicator } from './disk-space.health.js';
import { InstanceHealthIndicator } from './instance.health.js';
import { ReadinessService } from './readiness.service.js';
import { StepListenerHealthIndicator } from './step-listener.health.js';

// The readiness checks of an instance on PostgreSQL (the e2e suite covers SQLite over HTTP).
describe('readiness on PostgreSQL', () => {
  let db: PgScratch;
  let dataDir: string;
  let module: TestingModule;
  beforeAll(async () => {
    db = await createPgScratch();
    await db.dataSource.destroy();
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-readiness-pg-'));
    const config = loadConfig({ STEP_DATA_DIR: dataDir, STEP_DATABASE_URL: db.url, STEP_INSTANCE_ID: 'pg-node' });
    module = await Test.createTestingModule({
      imports: [...instanceBaseImports(config), ClusterModule, TerminusModule],
      providers: [
        ReadinessService,
        DiskSpaceHealthIndicator,
        InstanceHealthIndicator,
        StepListenerHealthIndicator,
        { provide: StepListenerStatus, useValue: { listening: true, openConnections: 0 } },
      ],
    }).compile();
    await module.init();
  });
  afterAll(async () => {
    await module?.close();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reports the PostgreSQL database, the shared volume and the instance registered in the database', async () => {
    const result = await module.get(ReadinessService).check(false);
    const registry = module.get(InstanceRegistry);
    expect(result.status).toBe('ok');
    expect(result.details).toMatchObject({
      instance: { status: 'up', name: 'pg-node', id: registry.self },
      database: { status: 'up' },
      disk: { status: 'up', writable: true },
    });
    expect((await registry.liveInstances()).has(registry.self)).toBe(true);
  });

  it('reports the database down once PostgreSQL is out of reach', async () => {
    await module.get(DataSource).destroy();
    const failure = await module
      .get(ReadinessService)
      .check(false)
      .catch((err: { response?: unknown }) => err.response);
    expect(failure).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
  });
});
