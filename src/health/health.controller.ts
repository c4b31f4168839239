import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ReadinessService } from './readiness.service.js';

/** Liveness and readiness for load balancers, orchestrators and systemd watchdogs. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessService,
  ) {}

  /**
   * Ready to serve: database reachable, STEP listener up, data directory writable with enough free
   * space; 503 naming the failing check otherwise. Names the instance that answered.
   */
  @Get()
  @HealthCheck()
  ready() {
    return this.readiness.check(false);
  }

  /** Alive: the process answers HTTP (restart it when this stops answering). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }
}
