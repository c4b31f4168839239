import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module.js';
import { FilesMetricsCollector } from './files-metrics.collector.js';
import { MetricsController } from './metrics.controller.js';
import { StepMetrics } from './step-metrics.service.js';
import { StepTransportObserver } from './step-transport.observer.js';

/** GET /metrics and the STEP transport observer that feeds it. */
@Module({
  imports: [FilesModule],
  controllers: [MetricsController],
  providers: [StepMetrics, StepTransportObserver, FilesMetricsCollector],
  exports: [StepTransportObserver],
})
export class MetricsModule {}
