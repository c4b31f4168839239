import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from './database.options.js';
import { initializeWithMigrations } from './migration-lock.js';

/** The DataSource, SQLite or PostgreSQL (migrations run at startup; entities come from the feature modules). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [STEP_CONFIG],
      // Each feature module registers its own entities with TypeOrmModule.forFeature.
      // A database still starting gets a few seconds; an unreachable one fails startup soon, with its error.
      useFactory: (config: StepConfig) => ({
        ...buildDataSourceOptions(config),
        autoLoadEntities: true,
        retryAttempts: 2,
        retryDelay: 1000,
      }),
      // Several instances may start at once on one PostgreSQL database: one migrates at a time.
      dataSourceFactory: (options) => initializeWithMigrations(options!),
    }),
  ],
})
export class DatabaseModule {}
