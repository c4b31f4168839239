import {
  Catch,
  Controller,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, type NestContainer } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { IsString } from 'class-validator';
import { map, throwError, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepError, StepOperation, StepStatus, StepType, type StepFrame, type StepJson } from '../protocol/index.js';
import type { StepContext } from './step.context.js';
import { StepPattern, StepRequestJson, StepSessionParam } from './step-pattern.decorator.js';
import { StepReply } from './step.reply.js';
import { StepHandlerCompiler } from './step-handler-compiler.js';
import { StepServer } from './step.server.js';
import type { StepServerOptions } from './step-server.options.js';

class KeyDto {
  @IsString({ message: 'Field "key" has to be a string.' })
  key!: string;
}

/** Handlers the global guard ran for, in order. */
const guarded: string[] = [];

/** Like the app's auth guard: global, sets the session, refuses with a StepError. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean> {
    guarded.push(context.getHandler().name);
    const step = context.switchToRpc().getContext<StepContext>();
    const token = step.getRequest().token;
    if (token !== 'good') return Promise.reject(new StepError(StepStatus.TOKEN_INVALID, 'Token is wrong.'));
    step.session = { username: `user of ${context.getClass().name}.${context.getHandler().name}`, sessionId: 's' };
    return Promise.resolve(true);
  }
}

/** A method guard answering false: Nest's "Forbidden resource", which reaches the transport as a 500. */
class ClosedGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

class Teapot extends Error {}

/** A method filter that turns one domain error into a STEP error (and hands anything else on). */
@Catch(Teapot)
class TeapotFilter implements ExceptionFilter {
  catch(): Observable<never> {
    return throwError(() => new StepError(StepStatus.KEY_NOT_FOUND, 'mapped by the filter'));
  }
}

class SuffixInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((reply: StepReply) => StepReply.ok(`${reply.message} (intercepted)`)));
  }
}

@Controller()
class ProbeController {
  @StepPattern(StepType.DATA, StepOperation.GET)
  get(@Payload() dto: KeyDto, @StepSessionParam() session: { username: string }, @StepRequestJson() json: StepJson): StepReply {
    return StepReply.ok('got', { key: dto.key, user: session.username, dto: dto instanceof KeyDto, extra: json.extra ?? null });
  }

  @StepPattern(StepType.DATA, StepOperation.SAVE)
  async save(): Promise<StepReply> {
    await Promise.resolve();
    throw new StepError(StepStatus.FIELD_MISSING, 'thrown after an await');
  }

  // Above @StepPattern: Nest asks the filters declared last first, and the STEP filter catches everything.
  @UseFilters(TeapotFilter)
  @StepPattern(StepType.DATA, StepOperation.DELETE)
  delete(): StepReply {
    throw new Teapot('short and stout');
  }

  @StepPattern(StepType.DATA, StepOperation.LIST)
  @UseGuards(ClosedGuard)
  list(): StepReply {
    return StepReply.ok('never');
  }

  @StepPattern(StepType.FILE, StepOperation.LIST)
  @UseInterceptors(SuffixInterceptor)
  intercepted(): StepReply {
    return StepReply.ok('listed');
  }
}

@Module({ controllers: [ProbeController], providers: [{ provide: APP_GUARD, useClass: TokenGuard }] })
class ProbeModule {}

const peer = { remoteAddress: '127.0.0.1', connectionId: 1 };
const frame = (fields: StepJson): StepFrame => ({
  json: { direction: 'REQUEST', ...fields },
  error: null,
  binary: null,
  lease: null,
  wireBytes: 0,
});

/** The probe module behind a StepServer the way app.factory connects it, with or without the compiler. */
async function boot(compiled: boolean): Promise<{ app: INestApplication; server: StepServer }> {
  const app = await NestFactory.create(ProbeModule, { logger: false });
  await app.init();
  const container = (app as unknown as { container: NestContainer }).container;
  const compiler = compiled ? new StepHandlerCompiler(container, container.applicationConfig!) : null;
  const server = new StepServer({ host: '127.0.0.1', port: 0 } as StepServerOptions, undefined, compiler);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return { app, server };
}

describe('StepHandlerCompiler', () => {
  let nest: { app: INestApplication; server: StepServer };
  let compiled: { app: INestApplication; server: StepServer };

  beforeAll(async () => {
    nest = await boot(false);
    compiled = await boot(true);
  });
  afterAll(async () => {
    for (const { app, server } of [nest, compiled]) {
      await server.close();
      await app.close();
    }
  });

  /** The reply of the compiled server, after checking that Nest's own pipeline gives the same. */
  async function answer(fields: StepJson): Promise<StepJson> {
    const expected = await nest.server.dispatcher.dispatch(frame(fields), peer);
    const reply = await compiled.server.dispatcher.dispatch(frame(fields), peer);
    expect(reply).toEqual(expected);
    return reply.json;
  }

  it('puts a chain in place of every handler without interceptors, and leaves the others to Nest', () => {
    const table = compiled.server['handlerTable'];
    const registered = compiled.server['messageHandlers'];
    for (const pattern of ['DATA:GET', 'DATA:SAVE', 'DATA:DELETE', 'DATA:LIST']) {
      expect(table.get(pattern)).toBeTypeOf('function');
      expect(table.get(pattern)).not.toBe(registered.get(pattern));
      expect(table.get(pattern)!.extras).toEqual(registered.get(pattern)!.extras);
    }
    expect(table.get('FILE:LIST')).toBe(registered.get('FILE:LIST'));
    expect(nest.server['handlerTable']).toBe(nest.server['messageHandlers']);
  });

  it('runs the global guard (which sees class and handler), the DTO pipe and the parameter decorators', async () => {
    guarded.length = 0;
    expect(await answer({ type: 'DATA', operation: 'GET', token: 'good', key: 'k', extra: 7 })).toMatchObject({
      status: 200,
      key: 'k',
      user: 'user of ProbeController.get',
      dto: true,
      extra: 7,
    });
    // Once for Nest's pipeline, once for the chain.
    expect(guarded).toEqual(['get', 'get']);
  });

  it('answers a guard refusal, and a validation failure, with the same STEP status and message', async () => {
    expect(await answer({ type: 'DATA', operation: 'GET', token: 'bad', key: 'k' })).toMatchObject({
      status: StepStatus.TOKEN_INVALID,
      status_msg: 'Token is wrong.',
    });
    expect(await answer({ type: 'DATA', operation: 'GET', token: 'good', key: 5 })).toMatchObject({
      status: 400,
      status_msg: 'Field "key" has to be a string.',
    });
  });

  it('answers a guard that says no as Nest does: a generic 500', async () => {
    expect(await answer({ type: 'DATA', operation: 'LIST', token: 'good' })).toMatchObject({
      status: 500,
      status_msg: 'Internal server error.',
    });
  });

  it('hands handler errors to the exception filters: the method filter maps its error, the STEP filter passes a StepError on', async () => {
    expect(await answer({ type: 'DATA', operation: 'DELETE', token: 'good' })).toMatchObject({
      status: StepStatus.KEY_NOT_FOUND,
      status_msg: 'mapped by the filter',
    });
    expect(await answer({ type: 'DATA', operation: 'SAVE', token: 'good' })).toMatchObject({
      status: StepStatus.FIELD_MISSING,
      status_msg: 'thrown after an await',
    });
  });

  it('keeps the interceptor of a handler that has one', async () => {
    expect(await answer({ type: 'FILE', operation: 'LIST', token: 'good' })).toMatchObject({
      status: 200,
      status_msg: 'listed (intercepted)',
    });
  });
});
