import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { StepListenerStatus } from '../transport/step-listener-status.service.js';

/** Ready only while the STEP listener accepts connections. */
@Injectable()
export class StepListenerHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly listener: StepListenerStatus,
  ) {}

  /** Reports the listener's state and open connections under `key`. */
  isListening(key: string) {
    const indicator = this.indicators.check(key);
    const details = { openConnections: this.listener.openConnections };
    return this.listener.listening ? indicator.up(details) : indicator.down(details);
  }
}
