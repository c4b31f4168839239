import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { DiskSpaceHealthIndicator } from './disk-space.health.js';
import { StepListenerHealthIndicator } from './step-listener.health.js';

/** How long the database ping may take before the database counts as unreachable. */
const DATABASE_PING_TIMEOUT_MS = 1500;

/** Liveness and readiness for load balancers, orchestrators and systemd watchdogs. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly listener: StepListenerHealthIndicator,
    private readonly disk: DiskSpaceHealthIndicator,
  ) {}

  /** Ready to serve: database reachable, STEP listener up, enough free disk; 503 naming the failing check otherwise. */
  @Get()
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      () => this.listener.isListening('step'),
      () => this.disk.isFree('disk'),
    ]);
  }

  /** Alive: the process answers HTTP (restart it when this stops answering). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }
}
