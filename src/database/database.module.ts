import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from './database.options.js';

/** The SQLite DataSource (migrations run at startup). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [STEP_CONFIG],
      useFactory: (config: StepConfig) => buildDataSourceOptions(config.storage.dataDir),
    }),
  ],
})
export class DatabaseModule {}
