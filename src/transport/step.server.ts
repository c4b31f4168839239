import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Observable } from 'rxjs';
import {
  StepOperation,
  StepType,
  stepPatternKey,
  checkEnvelope,
  echoEnvelope,
  replyJson,
  StepError,
  StepStatus,
} from '../protocol/index.js';
import { STEP_BINARY_PATTERNS, STEP_BLOCK_REPLY_PATTERNS } from './step-dispatch.rules.js';
import type { FrameHead, StepFrame, StepJson } from '../protocol/index.js';
import { StepConnection, type OutgoingReply, type StepConnectionShared, type StepDispatcher } from './step-connection.js';
import { StepContext, type StepPeer } from './step.context.js';
import { StepReply } from './step.reply.js';
import type { StepServerOptions } from './step-server.options.js';
import { STEP_FALLBACK_PATTERN } from './step-pattern.decorator.js';
import { ByteBudget } from './byte-budget.js';
import { ConnectionGate } from './connection-gate.js';

/** Size of the one buffer every plain-TCP connection reads into (libuv reads up to 64 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Custom Nest transport strategy speaking STEP over TCP (or TLS). Frames are checked against
 * docs/protocol.md §2, routed by type+operation to @StepPattern handlers and answered in request order.
 */
export class StepServer extends Server implements CustomTransportStrategy, StepDispatcher {
  protected override readonly logger = new Logger('StepServer');
  private listener: NetServer | null = null;
  private readonly connections = new Set<StepConnection>();
  private readonly gate: ConnectionGate;
  private nextConnectionId = 1;
  private closing = false;
  private readonly shared: StepConnectionShared;

  constructor(private readonly options: StepServerOptions) {
    super();
    this.shared = {
      preallocation: new ByteBudget(options.maxPreallocatedBytes),
      replies: new ByteBudget(options.maxPendingReplyBytes),
      // One buffer for every plain-TCP connection: Node reads and delivers one socket at a time.
      readBuffer: options.tls ? null : Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
    };
    this.gate = new ConnectionGate(options.maxConnections, options.maxConnectionsPerAddress, options.tlsHandshakeTimeoutMs);
  }

  /** Starts listening; `callback` runs once the port is bound (or with the bind error). */
  listen(callback: (err?: unknown) => void): void {
    const tls = this.options.tls;
    // allowHalfOpen (plain TCP): a peer that shuts down its sending side still gets its replies
    // (StepConnection). Not for TLS, whose close_notify ends both directions: a half-open TLS
    // socket never finished closing and held shutdown up.
    this.listener = tls
      ? createTlsServer(
          // handshakeTimeout closes a peer that sends nothing; the deadline in acceptTcp one that trickles.
          { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', handshakeTimeout: this.options.tlsHandshakeTimeoutMs },
          (socket) => this.acceptSecure(socket),
        )
      : // pauseOnConnect: nothing is read before StepConnection has given the socket its read buffer.
        createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.acceptPlain(socket));
    // Connections count from TCP accept, before any handshake, so handshakes cannot dodge the limits.
    if (tls) this.listener.on('connection', (raw: Socket) => (this.closing ? raw.destroy() : this.gate.admitTcp(raw)));
    // A TLS handshake failure (plain TCP client, bad cert, timeout) concerns one peer, not the server.
    this.listener.on('tlsClientError', (err: Error, socket: Socket) => {
      this.logger.debug(`TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
    this.listener.once('error', (err) => callback(err));
    this.listener.listen(this.options.port, this.options.host, () => callback());
  }

  /** Address the listener is bound to (tests use port 0 and read the real port here). */
  address(): AddressInfo {
    return this.listener!.address() as AddressInfo;
  }

  /** Number of open connections. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** True while the listener accepts connections. */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /**
   * Graceful close: stop accepting, let every connection finish what it has queued (within the
   * grace period), then close whatever is left.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const listener = this.listener;
    const closed = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    const drained = Promise.all([...this.connections].map((c) => c.drainAndEnd()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownGraceMs);
    });
    await Promise.race([drained, grace]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.destroy();
    await closed;
  }

  // The base class types callbacks as `Function`; this signature has to match it.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  on<EventKey extends string = string, EventCallback extends Function = Function>(event: EventKey, callback: EventCallback): void {
    if (!this.listener) throw new Error('StepServer.on() called before listen()');
    this.listener.on(event, callback as unknown as (...args: unknown[]) => void);
  }

  unwrap<T>(): T {
    if (!this.listener) throw new Error('StepServer is not listening yet');
    return this.listener as T;
  }

  /**
   * Spec A6: only FILE UPLOAD carries a binary section, and only with a valid token. Anything else
   * is refused from its JSON section alone, so a peer that never logged in cannot make the
   * server read (or hold) up to a block of bytes per connection.
   */
  admitBinary(head: FrameHead): StepError | null | Promise<StepError | null> {
    const refuse = (error: StepError) =>
      new StepError(error.status, error.message, { envelope: echoEnvelope(head.json), ...error.options, closeConnection: true });
    if (!head.json) return refuse(StepError.badField(head.error?.message ?? 'The JSON section is unusable.'));
    const invalid = checkEnvelope(head.json);
    if (invalid) return refuse(invalid);
    if (!STEP_BINARY_PATTERNS.has(stepPatternKey(head.json.type as string, head.json.operation as string))) {
      return refuse(StepError.badField('This request takes no binary section.'));
    }
    const authenticate = this.options.authenticate;
    if (!authenticate) return null;
    return authenticate(head.json.token).then(
      () => null,
      (err: unknown) => refuse(this.asStepError(err)),
    );
  }

  /** True for requests whose reply carries a block (DOWNLOAD). */
  repliesWithBlock(frame: StepFrame): boolean {
    const json = frame.json;
    return (
      json !== null &&
      typeof json.type === 'string' &&
      typeof json.operation === 'string' &&
      STEP_BLOCK_REPLY_PATTERNS.has(stepPatternKey(json.type, json.operation))
    );
  }

  /** Answers one queued frame (or framing error). Never rejects: every failure becomes a reply. */
  async dispatch(item: StepFrame | StepError, peer: StepPeer): Promise<OutgoingReply> {
    const started = performance.now();
    let reply: OutgoingReply;
    if (item instanceof StepError) {
      reply = this.errorReply(null, item);
    } else if (item.error) {
      reply = this.errorReply(null, StepError.badField(item.error.message));
    } else {
      reply = await this.route(item.json!, item.binary, peer);
    }
    this.options.observer?.replied?.({
      operation: String(reply.json.operation),
      type: String(reply.json.type),
      status: Number(reply.json.status),
      durationMs: performance.now() - started,
      bytesIn: item instanceof StepError ? 0 : (item.binary?.length ?? 0),
      bytesOut: reply.binary?.length ?? 0,
    });
    return reply;
  }

  private async route(request: StepJson, binary: Buffer | null, peer: StepPeer): Promise<OutgoingReply> {
    const invalid = checkEnvelope(request);
    if (invalid) return this.errorReply(request, invalid);
    if (request.operation === StepOperation.BYE) {
      // Spec A8: old clients send BYE and close without reading; answer anyway, then close.
      return { json: replyJson(request, StepStatus.OK, 'Bye.'), binary: null, close: true };
    }
    // LOGIN is routed whatever its type: its handler answers 409 for a type other than AUTH (A4).
    const key =
      request.operation === StepOperation.LOGIN
        ? stepPatternKey(StepType.AUTH, StepOperation.LOGIN)
        : stepPatternKey(request.type as string, request.operation as string);
    if (binary && !STEP_BINARY_PATTERNS.has(key)) {
      // Issue 6: a binary section on a request that takes none is a client bug; say so instead
      // of silently dropping bytes the client thinks were stored. Framing is intact: keep serving.
      return this.errorReply(request, StepError.badField('This request takes no binary section.'));
    }
    // Map lookup, not getHandlerByPattern(): that one tries JSON.parse on every call.
    const handler = this.messageHandlers.get(key) ?? this.messageHandlers.get(STEP_FALLBACK_PATTERN);
    if (!handler) {
      return this.errorReply(
        request,
        new StepError(
          StepStatus.OPERATION_NOT_ALLOWED,
          `Operation ${String(request.operation)} is not allowed for type ${String(request.type)}`,
        ),
      );
    }
    if (binary && !handler.extras?.binary) {
      return this.errorReply(request, StepError.badField(`Operation ${String(request.operation)} takes no binary section.`));
    }
    const context = new StepContext(peer, request, binary);
    try {
      const result = await this.invoke(handler, request, context);
      // A served request with a session, or a LOGIN that succeeded, puts the connection past login.
      return {
        ...this.successReply(request, result),
        authenticated: context.session !== null || request.operation === StepOperation.LOGIN,
      };
    } catch (err) {
      return this.errorReply(request, this.asStepError(err));
    }
  }

  /** Runs a handler through Nest's request pipeline (guards, pipes, filters, processing hooks). */
  private invoke(handler: MessageHandler, request: StepJson, context: StepContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      this.handleRequest(
        context,
        async () => this.transformToObservable(await handler(request, context)) as Observable<unknown>,
        (packet) => {
          if (settled) return;
          if (packet.err !== undefined) {
            settled = true;
            reject(packet.err);
          } else if ('response' in packet) {
            settled = true;
            resolve(packet.response);
          } else if (packet.isDisposed) {
            settled = true;
            resolve(undefined);
          }
        },
      );
    });
  }

  private successReply(request: StepJson, result: unknown): OutgoingReply {
    if (result instanceof StepReply) {
      return { json: replyJson(request, result.status, result.message, result.fields), binary: result.binary, close: false };
    }
    this.logger.error(`handler for ${String(request.type)}:${String(request.operation)} returned no StepReply`);
    return this.errorReply(request, StepError.internal());
  }

  private errorReply(request: StepJson | null, error: StepError): OutgoingReply {
    return {
      json: replyJson(request, error.status, error.message, error.options.fields, error.options.envelope),
      binary: null,
      close: error.options.closeConnection ?? false,
    };
  }

  private asStepError(err: unknown): StepError {
    if (err instanceof StepError) return err;
    this.logger.error('unhandled error in a STEP handler', (err as Error)?.stack ?? String(err));
    return StepError.internal();
  }

  /** A plain-TCP connection: counted, then served (or refused with 429). */
  private acceptPlain(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const release = this.gate.admitPlain(socket);
    if (release) this.serve(socket, release);
  }

  /** A TLS connection whose handshake finished (counted from TCP accept by the gate). */
  private acceptSecure(socket: Socket): void {
    if (!this.gate.secured(socket) || this.closing) {
      socket.destroy();
      return;
    }
    this.serve(socket, () => undefined);
  }

  private serve(socket: Socket, release: () => void): void {
    const connection = new StepConnection(this.nextConnectionId++, socket, this.options, this, this.shared);
    this.connections.add(connection);
    this.options.observer?.connections?.(this.connections.size);
    connection.onClose(() => {
      this.connections.delete(connection);
      release();
      this.options.observer?.connections?.(this.connections.size);
    });
    connection.start();
  }
}
