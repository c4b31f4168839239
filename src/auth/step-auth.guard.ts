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

  /**
   * Synchronous for a token the session cache vouches for (nearly every request of a connection
   * after its first): the request pipeline then takes no promise turn for the guard.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'rpc') return true;
    if (this.isPublic(context)) return true;
    const step = context.switchToRpc().getContext<StepContext>();
    const token = step.getRequest().token;
    const cached = this.tokens.cachedSession(token);
    if (cached !== null) {
      step.session = cached;
      return true;
    }
    return this.tokens.authenticate(token).then((session) => {
      step.session = session;
      return true;
    });
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
