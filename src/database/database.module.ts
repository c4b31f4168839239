import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from './database.options.js';

/** The SQLite DataSource (migrations run at startup; entities come from the feature modules). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [STEP_CONFIG],
      // Each feature module registers its own entities with TypeOrmModule.forFeature.
      useFactory: (config: StepConfig) => ({ ...buildDataSourceOptions(config), autoLoadEntities: true }),
    }),
  ],
})
export class DatabaseModule {}
