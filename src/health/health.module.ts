import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { TransportModule } from '../transport/transport.module.js';
import { DiskSpaceHealthIndicator } from './disk-space.health.js';
import { HealthController } from './health.controller.js';
import { StepListenerHealthIndicator } from './step-listener.health.js';

/** GET /health (readiness) and GET /health/live (liveness). */
@Module({
  imports: [
    TerminusModule.forRootAsync({
      inject: [STEP_CONFIG],
      // A failing check is logged in the same format as every other line.
      useFactory: (config: StepConfig) => ({ errorLogStyle: config.log.format === 'json' ? 'json' : 'pretty' }),
    }),
    TransportModule,
  ],
  controllers: [HealthController],
  providers: [DiskSpaceHealthIndicator, StepListenerHealthIndicator],
})
export class HealthModule {}
