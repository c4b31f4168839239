import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { StepContext } from '../transport/step.context.js';
import { IS_PUBLIC } from './public.decorator.js';
import { TokenService } from './token.service.js';

/**
 * Every STEP operation but LOGIN needs a valid token (docs/protocol.md §2). Registered app-wide; HTTP
 * routes are not its business (the admin API has its own bearer guard).
 */
@Injectable()
export class StepAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'rpc') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const step = context.switchToRpc().getContext<StepContext>();
    step.session = await this.tokens.authenticate(step.getRequest().token);
    return true;
  }
}
