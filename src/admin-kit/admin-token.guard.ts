import { CanActivate, ExecutionContext, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';

const BEARER = /^Bearer (.+)$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Guards the /admin HTTP API: absent (404) unless STEP_ADMIN_TOKEN is set, then it needs
 * `Authorization: Bearer <token>` (401 otherwise), compared in constant time.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@InjectStepConfig() config: StepConfig) {
    // Comparing fixed-length digests keeps the comparison constant-time whatever the input length.
    this.expected = config.admin.token ? digest(config.admin.token) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) throw new NotFoundException();
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match || !timingSafeEqual(digest(match[1]), this.expected)) {
      throw new UnauthorizedException('A valid admin bearer token is required.');
    }
    return true;
  }
}
