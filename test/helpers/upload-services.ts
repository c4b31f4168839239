import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterLocks, LocalClusterLocks } from '../../src/cluster/cluster-locks.js';
import { ClusterModule } from '../../src/cluster/cluster.module.js';
import { InstanceRegistry } from '../../src/cluster/instance-registry.js';
import { Clock } from '../../src/common/clock.js';
import { ScheduleModule } from '@nestjs/schedule';
import { UploadRecoveryService } from '../../src/files/upload-recovery.service.js';
import { CommonModule } from '../../src/common/common.module.js';
import { md5Hex } from '../../src/common/md5.js';
import { StepConfigModule } from '../../src/config/config.module.js';
import { loadConfig, type StepConfig } from '../../src/config/step.config.js';
import { buildDataSourceOptions } from '../../src/database/database.options.js';
import { SqliteWriter } from '../../src/database/sqlite-writer.js';
import { ActiveUploadLoader } from '../../src/files/active-upload-loader.js';
import { ActiveUploadRegistry } from '../../src/files/active-upload-registry.js';
import { BlockStorage } from '../../src/files/block-storage.repository.js';
import { FILES_ENTITIES } from '../../src/files/entities/index.js';
import { UPLOAD_PIPELINE_PROVIDERS } from '../../src/files/upload-pipeline.providers.js';
import { UploadCounters } from '../../src/files/upload-counters.js';
import { UploadFinisher } from '../../src/files/upload-finisher.js';
import { UploadHashing } from '../../src/files/upload-hashing.repository.js';
import { UploadLedger } from '../../src/files/upload-ledger.repository.js';
import { UploadProgressWriter } from '../../src/files/upload-progress.writer.js';
import { UploadReceiverService } from '../../src/files/upload-receiver.service.js';
import { UploadReceipts } from '../../src/files/upload-receipts.repository.js';
import { SqlRunner } from '../../src/database/sql-runner.js';
import type { StepReply } from '../../src/transport/index.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';

/** The upload services of the FilesModule (recovery and expiry included) on a real database and data dir, no transport. */
export interface UploadServices {
  config: StepConfig;
  receiver: UploadReceiverService;
  registry: ActiveUploadRegistry;
  loader: ActiveUploadLoader;
  finisher: UploadFinisher;
  ledger: UploadLedger;
  hashing: UploadHashing;
  storage: BlockStorage;
  counters: UploadCounters;
  progress: UploadProgressWriter;
  receipts: UploadReceipts;
  db: SqlRunner;
  sqlite: SqliteWriter;
  instances: InstanceRegistry;
  clock: Clock;
  recovery: UploadRecoveryService;
  /** Plans `content` under `key` for `username` and returns the granted plan's fields. */
  plan(username: string, key: string, content: Buffer, blockSize: number): Promise<Record<string, unknown>>;
  /** Sends block `index` of `content` (uploaded in `blockSize` blocks). */
  send(username: string, key: string, content: Buffer, blockSize: number, index: number): Promise<StepReply>;
  /** Shuts the services down and removes the temporary data dir. */
  close(): Promise<void>;
}

/** How to boot the services besides the environment. */
export interface UploadServicesOptions {
  /** A data dir to share (kept at close); default a fresh temp dir, removed at close. */
  dataDir?: string;
  /** One ClusterLocks for several service sets in one process, as if they were instances of one cluster. */
  locks?: ClusterLocks;
}

/**
 * Boots the upload services in a temp dir; `env` overrides stepd's environment variables (with
 * STEP_DATABASE_URL the services run on that PostgreSQL database).
 */
export async function createUploadServices(env: Record<string, string> = {}, options: UploadServicesOptions = {}): Promise<UploadServices> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'stepd-unit-')));
  const config = loadConfig({ STEP_DATA_DIR: dataDir, LOG_LEVEL: 'fatal', ...env });
  Logger.overrideLogger(false);
  let builder = Test.createTestingModule({
    imports: [
      StepConfigModule.forRoot(config),
      CommonModule,
      ClusterModule,
      ScheduleModule.forRoot(),
      // A database that refuses the schema fails the spec at once (the module default retries).
      TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), autoLoadEntities: true, retryAttempts: 0 }),
      TypeOrmModule.forFeature(FILES_ENTITIES),
    ],
    providers: [...UPLOAD_PIPELINE_PROVIDERS, UploadRecoveryService],
  });
  if (options.locks) builder = builder.overrideProvider(ClusterLocks).useValue(options.locks);
  const module: TestingModule = await builder.compile();
  await module.init();
  const receiver = module.get(UploadReceiverService);
  return {
    config,
    receiver,
    registry: module.get(ActiveUploadRegistry),
    loader: module.get(ActiveUploadLoader),
    finisher: module.get(UploadFinisher),
    ledger: module.get(UploadLedger),
    hashing: module.get(UploadHashing),
    storage: module.get(BlockStorage),
    counters: module.get(UploadCounters),
    progress: module.get(UploadProgressWriter),
    receipts: module.get(UploadReceipts),
    db: module.get(SqlRunner),
    sqlite: module.get(SqliteWriter),
    instances: module.get(InstanceRegistry),
    clock: module.get(Clock),
    recovery: module.get(UploadRecoveryService),
    async plan(username, key, content, blockSize) {
      return (await receiver.plan(username, { key, size: content.length, block_size: blockSize })).fields ?? {};
    },
    send(username, key, content, blockSize, index) {
      const block = content.subarray(index * blockSize, (index + 1) * blockSize);
      return receiver.receiveBlock(username, { key, block_index: index, block_md5: md5Hex(block) }, Buffer.from(block));
    },
    async close() {
      await module.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The database engines the upload specs run on. */
export type SpecEngine = 'sqlite' | 'postgres';
export const SPEC_ENGINES: SpecEngine[] = ['sqlite', 'postgres'];

/** createUploadServices on `engine`: PostgreSQL gets a scratch database, dropped at close. */
export async function createUploadServicesOn(
  engine: SpecEngine,
  env: Record<string, string> = {},
  options: UploadServicesOptions = {},
): Promise<UploadServices> {
  if (engine === 'sqlite') return createUploadServices(env, options);
  const database = await createScratchDatabase();
  try {
    const services = await createUploadServices({ ...env, STEP_DATABASE_URL: database.url }, options);
    const close = services.close;
    services.close = async () => {
      await close();
      await database.drop();
    };
    return services;
  } catch (err) {
    await database.drop();
    throw err;
  }
}

/**
 * Two instances in one process: two sets of upload services on one fresh PostgreSQL database and
 * one data dir, sharing one lock table (as ClusterLocks does across processes), each with its own memory.
 */
export interface SharedInstances {
  database: ScratchDatabase;
  dataDir: string;
  a: UploadServices;
  b: UploadServices;
}

/** Boots SharedInstances in a fresh temp dir named with `prefix`. */
export async function createSharedInstances(prefix: string): Promise<SharedInstances> {
  const database = await createScratchDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const locks = new LocalClusterLocks();
  const a = await createUploadServices({ STEP_DATABASE_URL: database.url }, { dataDir, locks });
  const b = await createUploadServices({ STEP_DATABASE_URL: database.url }, { dataDir, locks });
  return { database, dataDir, a, b };
}

/** Closes both instances, drops the database and removes the data dir. */
export async function closeSharedInstances({ database, dataDir, a, b }: SharedInstances): Promise<void> {
  await a.close();
  await b.close();
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
}
