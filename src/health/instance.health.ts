import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InstanceRegistry } from '../cluster/instance-registry.js';

/**
 * Which instance answered: its name (STEP_INSTANCE_ID) and its id of this start, the one other
 * instances see in the registry. Always up; behind a balancer it tells the probes apart.
 */
@Injectable()
export class InstanceHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly registry: InstanceRegistry,
  ) {}

  /** Reports this instance's name and id under `key`. */
  identify(key: string) {
    return this.indicators.check(key).up({ name: this.registry.name, id: this.registry.self });
  }
}
