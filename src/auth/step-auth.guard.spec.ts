import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it, vi } from 'vitest';
import { StepContext } from '../transport/step.context.js';
import { Public } from './public.decorator.js';
import { StepAuthGuard } from './step-auth.guard.js';
import type { TokenService } from './token.service.js';

class Handlers {
  @Public()
  login(): void {}

  upload(): void {}
}

@Public()
class OpenHandlers {
  anything(): void {}
}

/** An RPC execution context for `handler` of `controller`, as Nest builds it for a STEP request. */
function rpc(controller: new () => object, handler: string, token: unknown, type = 'rpc') {
  const step = new StepContext({ remoteAddress: '127.0.0.1', connectionId: 1 }, { token }, null);
  const context = {
    getType: () => type,
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    getClass: () => controller,
    switchToRpc: () => ({ getContext: () => step }),
  } as unknown as ExecutionContext;
  return { context, step };
}

describe('StepAuthGuard', () => {
  const session = { username: 'u', sessionId: 's' };

  it('checks the token of every request to a handler that is not @Public, and sets its session', async () => {
    const authenticate = vi.fn(async (token: unknown) => {
      if (token !== 'good') throw new Error('Token is wrong.');
      return session;
    });
    const reflector = new Reflector();
    const lookups = vi.spyOn(reflector, 'getAllAndOverride');
    const guard = new StepAuthGuard(reflector, { authenticate, cachedSession: () => null } as unknown as TokenService);
    for (let i = 0; i < 3; i++) {
      const { context, step } = rpc(Handlers, 'upload', 'good');
      expect(await guard.canActivate(context)).toBe(true);
      expect(step.session).toBe(session);
    }
    await expect(guard.canActivate(rpc(Handlers, 'upload', 'bad').context)).rejects.toThrow('Token is wrong.');
    expect(authenticate).toHaveBeenCalledTimes(4);
    // The handler's decorators were read once.
    expect(lookups).toHaveBeenCalledOnce();
  });

  it('lets @Public handlers and classes, and anything but RPC, through without a token', async () => {
    const authenticate = vi.fn();
    const cachedSession = vi.fn(() => null);
    const guard = new StepAuthGuard(new Reflector(), { authenticate, cachedSession } as unknown as TokenService);
    for (const [controller, handler] of [
      [Handlers, 'login'],
      [OpenHandlers, 'anything'],
      [Handlers, 'login'],
    ] as const) {
      const { context, step } = rpc(controller, handler, undefined);
      expect(await guard.canActivate(context)).toBe(true);
      expect(step.session).toBeNull();
    }
    expect(await guard.canActivate(rpc(Handlers, 'upload', undefined, 'http').context)).toBe(true);
    expect(authenticate).not.toHaveBeenCalled();
    expect(cachedSession).not.toHaveBeenCalled();
  });

  it('answers at once, without a promise, for a token the session cache vouches for', async () => {
    const authenticate = vi.fn(async () => session);
    const cached = { username: 'c', sessionId: 'cs' };
    const cachedSession = vi.fn((token: unknown) => (token === 'cached' ? cached : null));
    const guard = new StepAuthGuard(new Reflector(), { authenticate, cachedSession } as unknown as TokenService);
    const hit = rpc(Handlers, 'upload', 'cached');
    expect(guard.canActivate(hit.context)).toBe(true);
    expect(hit.step.session).toEqual(cached);
    expect(authenticate).not.toHaveBeenCalled();
    const miss = rpc(Handlers, 'upload', 'other');
    const verdict = guard.canActivate(miss.context);
    expect(verdict).toBeInstanceOf(Promise);
    expect(await verdict).toBe(true);
    expect(miss.step.session).toBe(session);
    expect(authenticate).toHaveBeenCalledWith('other');
  });
});
