import { Injectable } from '@nestjs/common';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { DiskSpaceHealthIndicator } from './disk-space.health.js';
import { InstanceHealthIndicator } from './instance.health.js';
import { StepListenerHealthIndicator } from './step-listener.health.js';

/** How long the database ping (`SELECT 1`, on SQLite or PostgreSQL) may take before the database counts as unreachable. */
const DATABASE_PING_TIMEOUT_MS = 1500;

/** The readiness checks behind GET /health and GET /admin/health. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly listener: StepListenerHealthIndicator,
    private readonly disk: DiskSpaceHealthIndicator,
    private readonly instance: InstanceHealthIndicator,
  ) {}

  /**
   * Which instance answers, database reachable, STEP listener up, data directory writable with
   * enough free space; `detailed` adds what only administrators may see.
   */
  check(detailed: boolean) {
    return this.health.check([
      () => this.instance.identify('instance'),
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      () => this.listener.isListening('step'),
      () => this.disk.isFree('disk', detailed),
    ]);
  }
}
