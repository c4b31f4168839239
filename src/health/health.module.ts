import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { TransportModule } from '../transport/transport.module.js';
import { DiskSpaceHealthIndicator } from './disk-space.health.js';
import { HealthAdminController } from './health-admin.controller.js';
import { HealthController } from './health.controller.js';
import { InstanceHealthIndicator } from './instance.health.js';
import { ReadinessService } from './readiness.service.js';
import { StepListenerHealthIndicator } from './step-listener.health.js';

/** GET /health (readiness), GET /health/live (liveness) and GET /admin/health (readiness with details). */
@Module({
  imports: [
    TerminusModule.forRootAsync({
      inject: [STEP_CONFIG],
      // A failing check is logged in the same format as every other line.
      useFactory: (config: StepConfig) => ({ errorLogStyle: config.log.format === 'json' ? 'json' : 'pretty' }),
    }),
    TransportModule,
  ],
  controllers: [HealthController, HealthAdminController],
  providers: [DiskSpaceHealthIndicator, StepListenerHealthIndicator, InstanceHealthIndicator, ReadinessService],
})
export class HealthModule {}
