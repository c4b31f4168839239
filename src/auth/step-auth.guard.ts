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
  /** Whether a handler is @Public, by controller class and handler: decorators do not change at run time. */
  private readonly publicHandlers = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'rpc') return true;
    if (this.isPublic(context)) return true;
    const step = context.switchToRpc().getContext<StepContext>();
    step.session = await this.tokens.authenticate(step.getRequest().token);
    return true;
  }

  private isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.publicHandlers.get(controller);
    if (!byHandler) this.publicHandlers.set(controller, (byHandler = new WeakMap()));
    let known = byHandler.get(handler);
    if (known === undefined) {
      known = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, controller]) === true;
      byHandler.set(handler, known);
    }
    return known;
  }
}
