import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { StepMetrics } from './step-metrics.service.js';
import { StepTransportObserver } from './step-transport.observer.js';

/** GET /metrics and the STEP transport observer that feeds it. */
@Module({
  controllers: [MetricsController],
  providers: [StepMetrics, StepTransportObserver],
  exports: [StepTransportObserver],
})
export class MetricsModule {}
