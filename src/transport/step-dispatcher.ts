import { Logger } from '@nestjs/common';
import { RpcException, type MessageHandler } from '@nestjs/microservices';
import { finalize, isObservable, take, type Observable } from 'rxjs';
import {
  checkEnvelope,
  echoEnvelope,
  replyJson,
  StepError,
  StepOperation,
  stepPatternKey,
  StepStatus,
  StepType,
  type FrameHead,
  type StepFrame,
  type StepJson,
} from '../protocol/index.js';
import type { ConnectionDispatcher, OutgoingReply } from './step-connection.contracts.js';
import { StepContext, type StepPeer } from './step.context.js';
import { STEP_FALLBACK_PATTERN, type StepPatternOptions } from './step-pattern.decorator.js';
import { StepReply } from './step.reply.js';
import type { StepServerOptions } from './step-server.options.js';
import { TokenAdmissions } from './token-admissions.js';

/** What the dispatcher uses of the Nest transport strategy: its handler table and processing hooks. */
export interface StepHandlerHost {
  /** @StepPattern handlers by pattern key (Nest's `messageHandlers`), with their options as extras. */
  readonly handlers: ReadonlyMap<string, MessageHandler>;
  /**
   * Nest's `Server.runWithProcessingHooks`: runs `fn` between the processing start and end hooks
   * (`fn` calls `runEndHook` once its request is answered).
   */
  runWithProcessingHooks(context: StepContext, fn: (runEndHook: () => void) => Promise<void>): void;
  /** False while Nest's processing hooks are its no-op defaults (nothing to run around a request). */
  hasProcessingHooks(): boolean;
}

/** A handler's declared options (`@StepPattern(..., options)`), or none. */
function optionsOf(handler: MessageHandler | undefined): StepPatternOptions {
  return (handler?.extras as StepPatternOptions | undefined) ?? {};
}

function noop(): void {}

/**
 * The answer of a handler Nest built or a compiled chain: the reply itself, or an Observable
 * when a filter or an interceptor produced one; only the latter is subscribed to (its first
 * value, its error, or nothing when it completes empty), which is what Nest's `handleRequest`
 * answers, without wrapping every reply in an Observable first. `runEndHook` runs once the
 * answer is known.
 */
async function settle(run: () => Promise<unknown>, runEndHook: () => void): Promise<unknown> {
  let result: unknown;
  try {
    result = await run();
  } catch (err) {
    // A handler that throws outside Nest's exception zone still settles.
    runEndHook();
    throw err;
  }
  if (!isObservable(result)) {
    runEndHook();
    return result;
  }
  return firstValue(result, runEndHook);
}

/** An Observable answer's first value (undefined when it completes empty), or its error. */
function firstValue(result: Observable<unknown>, runEndHook: () => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    result.pipe(take(1), finalize(runEndHook)).subscribe({
      next: (value) => {
        settled = true;
        resolve(value);
      },
      error: (err: unknown) => {
        settled = true;
        reject(err);
      },
      complete: () => {
        if (!settled) resolve(undefined);
      },
    });
  });
}

/**
 * Route, invoke and reply: the one path every request of every connection takes. A frame (or a
 * framing error) goes in, one reply comes out; every failure becomes a STEP error reply here,
 * and unknown errors become 500 here and nowhere else. What a request may carry is declared once,
 * on its handler (`@StepPattern(type, operation, { binary, repliesWithBlock })`).
 */
export class StepDispatcher implements ConnectionDispatcher {
  private readonly logger = new Logger('StepDispatcher');

  constructor(
    private readonly host: StepHandlerHost,
    private readonly options: Pick<StepServerOptions, 'authenticate' | 'observer'>,
    private readonly admissions = new TokenAdmissions(),
  ) {}

  /**
   * docs/protocol.md §1: only a request whose handler takes a binary section (FILE UPLOAD), with a
   * valid token, has it read. Anything else is refused from its JSON section alone, and the
   * connection closed, so a peer that never logged in cannot make the server read (or hold) up
   * to a block of bytes per connection. Frames reach dispatch() with a binary section only
   * through here. A token the guard accepted on the same connection a moment ago is admitted at
   * once (TokenAdmissions), so that a lock-step uploader's block is read in the turn it arrives.
   */
  admitBinary(head: FrameHead, peer: StepPeer): StepError | null | Promise<StepError | null> {
    if (!head.json) return this.refusal(head, StepError.badField(head.error?.message ?? 'The JSON section is unusable.'));
    const invalid = checkEnvelope(head.json);
    if (invalid) return this.refusal(head, invalid);
    if (!optionsOf(this.handlerFor(head.json)).binary) {
      return this.refusal(head, StepError.badField('This request takes no binary section.'));
    }
    const authenticate = this.options.authenticate;
    if (!authenticate) return null;
    const token = head.json.token;
    if (this.admissions.admits(peer, token)) return null;
    return authenticate(token).then(
      () => {
        this.admissions.accepted(peer, token);
        return null;
      },
      (err: unknown) => this.refusal(head, this.asStepError(err)),
    );
  }

  /** True for requests whose reply carries a block (DOWNLOAD: it waits for reply budget first). */
  repliesWithBlock(frame: StepFrame): boolean {
    const json = frame.json;
    return json !== null && optionsOf(this.handlerFor(json)).repliesWithBlock === true;
  }

  /** Answers one queued frame (or framing error). Never rejects: every failure becomes a reply. */
  async dispatch(item: StepFrame | StepError, peer: StepPeer): Promise<OutgoingReply> {
    const started = performance.now();
    let reply: OutgoingReply;
    if (item instanceof StepError) {
      reply = this.errorReply(null, item);
    } else if (item.json === null) {
      reply = this.errorReply(null, StepError.badField(item.error?.message ?? 'The JSON section is unusable.'));
    } else {
      reply = await this.route(item.json, item.binary, peer);
    }
    if (this.options.observer?.replied) {
      reply.event = {
        operation: String(reply.json.operation),
        type: String(reply.json.type),
        status: Number(reply.json.status),
        durationMs: performance.now() - started,
        bytesIn: item instanceof StepError ? 0 : (item.binary?.length ?? 0),
        bytesOut: reply.binary?.length ?? 0,
      };
    }
    return reply;
  }

  /** Tells the observer of a reply the connection has written (dispatch measured it). */
  written(reply: OutgoingReply): void {
    if (reply.event) this.options.observer?.replied?.(reply.event);
  }

  private async route(request: StepJson, binary: Buffer | null, peer: StepPeer): Promise<OutgoingReply> {
    const invalid = checkEnvelope(request);
    if (invalid) return this.errorReply(request, invalid);
    if (request.operation === StepOperation.BYE) {
      // docs/protocol.md §5: old clients send BYE and close without reading; answer anyway, then close.
      return { json: replyJson(request, StepStatus.OK, 'Bye.'), binary: null, lease: null, close: true };
    }
    // The fallback handler answers type+operation pairs nobody handles, behind the auth guard
    // (docs/protocol.md §2: the token is checked before "not allowed for type").
    const handler = this.handlerFor(request) ?? this.host.handlers.get(STEP_FALLBACK_PATTERN);
    if (!handler) return this.errorReply(request, StepError.notAllowedForType(request.operation, request.type));
    const context = new StepContext(peer, request, binary);
    try {
      let result: unknown;
      if (this.host.hasProcessingHooks()) {
        result = await this.invoke(handler, request, context);
      } else {
        // Nest's processing hooks are its no-op defaults: settle()'s work inline, without the
        // hooks' promise and an async function of its own around every request.
        result = await (handler(request, context) as Promise<unknown>);
        if (isObservable(result)) result = await firstValue(result, noop);
      }
      if (!(result instanceof StepReply)) {
        this.logger.error(`handler for ${String(request.type)}:${String(request.operation)} returned no StepReply`);
        return this.errorReply(request, StepError.internal());
      }
      return {
        json: replyJson(request, result.status, result.message, result.fields),
        binary: result.binary,
        lease: result.lease,
        close: false,
        // A served request with a session, or a LOGIN that succeeded, puts the connection past login.
        authenticated: context.session !== null || request.operation === StepOperation.LOGIN,
      };
    } catch (err) {
      return this.errorReply(request, this.asStepError(err));
    } finally {
      this.noteToken(peer, request, context);
    }
  }

  /** Keeps TokenAdmissions in step with the guard: a token it accepted is remembered, anything else forgotten. */
  private noteToken(peer: StepPeer, request: StepJson, context: StepContext): void {
    // LOGOUT passes the guard and then ends the session: its token must not be admitted from memory.
    if (context.session !== null && request.operation !== StepOperation.LOGOUT) this.admissions.accepted(peer, request.token);
    else if (request.operation !== StepOperation.LOGIN) this.admissions.forget(peer);
  }

  /**
   * The handler registered for a request's type and operation. A Map lookup, not
   * getHandlerByPattern(), which tries JSON.parse on every call. LOGIN is routed whatever its
   * type: its handler answers 409 for a type other than AUTH (docs/protocol.md §3).
   */
  private handlerFor(request: StepJson): MessageHandler | undefined {
    const { type, operation } = request;
    if (operation === StepOperation.LOGIN) return this.host.handlers.get(stepPatternKey(StepType.AUTH, StepOperation.LOGIN));
    if (typeof type !== 'string' || typeof operation !== 'string') return undefined;
    return this.host.handlers.get(stepPatternKey(type, operation));
  }

  /**
   * Runs a handler through its request pipeline (guards, pipes, filters) between Nest's processing
   * hooks, and settles with its reply or its error. Only when hooks are set (route() runs the
   * handler directly otherwise).
   */
  private invoke(handler: MessageHandler, request: StepJson, context: StepContext): Promise<unknown> {
    const run = () => handler(request, context) as Promise<unknown>;
    return new Promise((resolve, reject) => {
      this.host.runWithProcessingHooks(context, (runEndHook) => settle(run, runEndHook).then(resolve, reject));
    });
  }

  /** An admission refusal: answered with the frame's own envelope, then the connection closes. */
  private refusal(head: FrameHead, error: StepError): StepError {
    return new StepError(error.status, error.message, { envelope: echoEnvelope(head.json), ...error.options, closeConnection: true });
  }

  private errorReply(request: StepJson | null, error: StepError): OutgoingReply {
    return {
      json: replyJson(request, error.status, error.message, error.options.fields, error.options.envelope),
      binary: null,
      lease: null,
      close: error.options.closeConnection ?? false,
    };
  }

  /** The one place where an error that is not a StepError becomes 500 (logged with its stack, never shown). */
  private asStepError(err: unknown): StepError {
    if (err instanceof StepError) return err;
    if (err instanceof RpcException && err.getError() instanceof StepError) return err.getError() as StepError;
    this.logger.error('unhandled error in a STEP handler', (err as Error)?.stack ?? String(err));
    return StepError.internal();
  }
}
