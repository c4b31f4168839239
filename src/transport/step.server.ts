import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server, type MessageHandler } from '@nestjs/microservices';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { ByteBudget } from './byte-budget.js';
import { ConnectionGate } from './connection-gate.js';
import { StepConnection } from './step-connection.js';
import type { StepConnectionShared } from './step-connection.contracts.js';
import { StepDispatcher } from './step-dispatcher.js';
import type { StepHandlerCompiler } from './step-handler-compiler.js';
import type { StepServerOptions } from './step-server.options.js';

/** Size of the one buffer every plain-TCP connection reads into (libuv reads up to 64 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Custom Nest transport strategy speaking STEP over TCP (or TLS), like Nest's own ServerTCP: it
 * listens, accepts (within the connection limits) and closes. Each connection reads its frames
 * (StepConnection); StepDispatcher routes them to @StepPattern handlers and builds the replies.
 */
export class StepServer extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('StepServer');
  /** The one dispatch path of every connection (route, invoke, reply). */
  readonly dispatcher: StepDispatcher;
  private listener: NetServer | null = null;
  private readonly connections = new Set<StepConnection>();
  private readonly gate: ConnectionGate;
  private nextConnectionId = 1;
  private closing = false;
  private readonly shared: StepConnectionShared;
  /** Nest's default processing start hook (it only calls `done`), until setOnProcessingStartHook replaces it. */
  private readonly noStartHook = this.onProcessingStartHook;
  /** What requests are dispatched to: Nest's handlers, with compiled chains in place where possible (see listen). */
  private handlerTable: ReadonlyMap<string, MessageHandler> = this.messageHandlers;

  /**
   * @param pool the app's BlockBufferPool (request blocks are read into it)
   * @param compiler builds each handler's request pipeline once (StepHandlerCompiler); without
   *   one every request takes Nest's own per-call pipeline
   */
  constructor(
    private readonly options: StepServerOptions,
    pool: BlockBufferPool = new BlockBufferPool(),
    private readonly compiler: StepHandlerCompiler | null = null,
  ) {
    super();
    const tables = { current: () => this.handlerTable };
    this.dispatcher = new StepDispatcher(
      {
        get handlers() {
          return tables.current();
        },
        runWithProcessingHooks: (context, fn) => this.runWithProcessingHooks(context, fn),
        hasProcessingHooks: () => this.onProcessingStartHook !== this.noStartHook || this.onProcessingEndHook !== undefined,
      },
      options,
    );
    this.shared = {
      pool,
      preallocation: new ByteBudget(options.maxPreallocatedBytes),
      replies: new ByteBudget(options.maxPendingReplyBytes),
      // One buffer for every plain-TCP connection: Node reads and delivers one socket at a time.
      readBuffer: options.tls ? null : Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
    };
    this.gate = new ConnectionGate(options.maxConnections, options.maxConnectionsPerAddress, options.tlsHandshakeTimeoutMs);
  }

  /** Starts listening; `callback` runs once the port is bound (or with the bind error). */
  listen(callback: (err?: unknown) => void): void {
    // Nest has registered every handler by now (NestMicroservice registers them before listen).
    if (this.compiler)
      this.handlerTable = this.compiler.compile(this.messageHandlers, (pattern: unknown) => this.normalizePattern(pattern as never));
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
    const connection = new StepConnection(this.nextConnectionId++, socket, this.options, this.dispatcher, this.shared);
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
