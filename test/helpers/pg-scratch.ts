import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CommonModule } from '../../src/common/common.module.js';
import { StepConfigModule } from '../../src/config/config.module.js';
import type { StepConfig } from '../../src/config/step.config.js';
import { buildDataSourceOptions, type DatabaseSettings } from '../../src/database/database.options.js';
import { createScratchDatabase } from './scratch-database.js';

/** A fresh database with stepd's schema, for one spec file. */
export interface PgScratch {
  url: string;
  /** A DataSource on it (migrations run), as the app's. */
  dataSource: DataSource;
  /** Closes the DataSource and drops the database (WITH (FORCE): ends every session still on it). */
  drop(): Promise<void>;
}

/** Creates a scratch database (test/helpers/scratch-database.ts) and runs stepd's PostgreSQL migrations on it. */
export async function createPgScratch(): Promise<PgScratch> {
  const scratch = await createScratchDatabase();
  const dataSource = new DataSource(
    buildDataSourceOptions({ database: { url: scratch.url }, storage: { dataDir: '/nonexistent' } } as DatabaseSettings),
  );
  try {
    await dataSource.initialize();
  } catch (err) {
    await scratch.drop();
    throw err;
  }
  return {
    url: scratch.url,
    dataSource,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await scratch.drop();
    },
  };
}

/** What a testing module of an instance's services needs under them: the config, the clock and the app's DataSource. */
export function instanceBaseImports(config: StepConfig): Array<DynamicModule | typeof CommonModule> {
  return [
    StepConfigModule.forRoot(config),
    CommonModule,
    TypeOrmModule.forRoot({ ...buildDataSourceOptions(config), autoLoadEntities: true }),
  ];
}
