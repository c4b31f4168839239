import { Controller, Get, Header, Res } from '@nestjs/common';
import { StepMetrics } from './step-metrics.service.js';

/** GET /metrics in the Prometheus text format. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: StepMetrics) {}

  /** Every stepd metric plus Node's process metrics. */
  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) response: { type(contentType: string): unknown }): Promise<string> {
    response.type(this.metrics.contentType);
    return this.metrics.render();
  }
}
