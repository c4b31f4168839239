import { Get } from '@nestjs/common';
import { HealthCheck } from '@nestjs/terminus';
import { AdminController } from '../admin-kit/admin-controller.decorator.js';
import { ReadinessService } from './readiness.service.js';

/** /admin/health: the readiness checks with the details /health keeps to itself (data path, OS errors). */
@AdminController('health')
export class HealthAdminController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Same checks and status code as GET /health, with every detail. */
  @Get()
  @HealthCheck()
  detailed() {
    return this.readiness.check(true);
  }
}
