import { Injectable, Logger } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { logLevels } from '../config/log-levels.js';
import type { StepReplyEvent, StepServerObserver } from '../transport/step-server.options.js';
import { StepMetrics } from './step-metrics.service.js';

/**
 * The STEP transport's observer (StepServerOptions.observer): feeds the metrics and writes the
 * per-request debug line. Runs once per request, i.e. per block: no I/O besides that log line,
 * and the line is not even formatted unless debug logging is on.
 */
@Injectable()
export class StepTransportObserver implements StepServerObserver {
  private readonly logger = new Logger('StepRequest');
  private readonly debug: boolean;

  constructor(
    private readonly metrics: StepMetrics,
    @InjectStepConfig() config: StepConfig,
  ) {
    this.debug = logLevels(config.log.level).includes('debug');
  }

  /** A connection opened or closed. */
  connections(open: number): void {
    this.metrics.setOpenConnections(open);
  }

  /** A request was answered. */
  replied(event: StepReplyEvent): void {
    this.metrics.recordReply(event);
    if (this.debug) {
      this.logger.debug(
        `${event.type} ${event.operation} ${event.status} ${event.durationMs.toFixed(2)}ms in=${event.bytesIn} out=${event.bytesOut}`,
      );
    }
  }
}
