import type { ArgumentMetadata, CanActivate, PipeTransform } from '@nestjs/common';
import { ExecutionContextHost, FORBIDDEN_MESSAGE } from '@nestjs/core/internal';
import { RpcException, type MessageHandler } from '@nestjs/microservices';
import type { RpcExceptionsHandler } from '@nestjs/microservices/exceptions/rpc-exceptions-handler.js';
import { catchError, isObservable, lastValueFrom, type Observable } from 'rxjs';

/** One handler parameter as Nest resolves it: where its value comes from and the pipes it goes through. */
export interface ChainParam {
  /** Position in the handler's argument list. */
  index: number;
  /** The raw value: the payload or the context (`args` = [data, context]), or a custom decorator's factory result. */
  extract(args: unknown[], context: ExecutionContextHost): unknown;
  /** What every pipe of this parameter is told (built once; Nest builds the same object per call). */
  metadata: ArgumentMetadata;
  /** The handler's pipes (global, class, method) followed by the parameter's own. */
  pipes: PipeTransform[];
}

/** What a chain is built from: one static controller method and the enhancers Nest resolved for it. */
export interface ChainParts {
  instance: object;
  callback: (...args: unknown[]) => unknown;
  guards: CanActivate[];
  /** Null when the handler declares no parameters: it is called with the raw (data, context), as Nest does. */
  params: ChainParam[] | null;
  argsLength: number;
  /** The handler's exception filters (Nest's RPC exceptions handler). */
  exceptions: RpcExceptionsHandler;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/**
 * A STEP handler's request pipeline, assembled once from what Nest resolved for it: guards in
 * order (a false one is Nest's "Forbidden resource" RpcException), then each parameter through
 * its pipes, then the method; any error goes through the handler's exception filters and comes
 * back as their Observable, as from Nest's own RpcProxy. What it leaves out is per-call
 * machinery with nothing to do for a handler without interceptors or pre-request hooks (the
 * compiler never builds a chain for one that has them): the interceptor and Observable wrapping,
 * Promise.all over the parameters, an ExecutionContextHost per guard run and per custom parameter
 * (one per request here), and an await on values that are not promises.
 */
export function stepHandlerChain(parts: ChainParts): MessageHandler {
  const { instance, callback, guards, params, argsLength, exceptions } = parts;
  const classRef = instance.constructor as new (...args: never[]) => unknown;

  const fail = (error: unknown, args: unknown[]): Observable<unknown> => {
    // RpcProxy hands filters a host without class or handler.
    const host = new ExecutionContextHost(args);
    host.setType('rpc');
    return exceptions.handle(error as Error, host);
  };

  // One async function per request: guards, parameters and the method, then the answer as it is
  // (an Observable gets the filters attached). A nested async function for the first part would
  // cost a promise and three more microtask turns per request.
  const handler = async (...args: unknown[]): Promise<unknown> => {
    try {
      const context = new ExecutionContextHost(args, classRef, callback);
      context.setType('rpc');
      for (const guard of guards) {
        const verdict = guard.canActivate(context);
        if (verdict === true) continue;
        if (verdict === false || !(await pickGuardResult(verdict))) throw new RpcException(FORBIDDEN_MESSAGE);
      }
      let result: unknown;
      if (params === null) {
        result = await callback.apply(instance, args);
      } else {
        const values: unknown[] = new Array<unknown>(argsLength).fill(undefined);
        for (const param of params) {
          let value = param.extract(args, context);
          if (isThenable(value)) value = await value;
          for (const pipe of param.pipes) {
            const piped: unknown = pipe.transform(value, param.metadata);
            value = isThenable(piped) ? await piped : piped;
          }
          values[param.index] = value;
        }
        result = await callback.apply(instance, values);
      }
      return isObservable(result) ? result.pipe(catchError((error: unknown) => fail(error, args))) : result;
    } catch (error) {
      return fail(error, args);
    }
  };
  return handler as unknown as MessageHandler;
}

/** GuardsConsumer's rule for a guard that did not answer with a boolean: a promise, or an Observable's last value. */
async function pickGuardResult(verdict: unknown): Promise<boolean> {
  const value: unknown = await verdict;
  return Boolean(isObservable(value) ? await lastValueFrom(value) : value);
}
