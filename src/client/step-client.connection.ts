import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { waitForDrain } from '../transport/wait-for-drain.js';
import { encodeFrameParts, FrameDecoder, type StepFrame, type StepJson } from '../transport/step.codec.js';

/** A decoded reply. */
export interface StepResponse {
  json: StepJson;
  binary: Buffer | null;
}

/** Where and how to connect. */
export interface StepConnectOptions {
  host: string;
  port: number;
  /** Connect through TLS; certificate verification stays on unless `rejectUnauthorized` is false. */
  tls?: { ca?: Buffer | string; rejectUnauthorized?: boolean; servername?: string };
  /** Connect timeout and per-request reply timeout, in ms. */
  timeoutMs?: number;
  /** Largest reply binary section accepted. */
  maxBinaryBytes?: number;
}

/** The connection failed, timed out or was closed with replies outstanding. */
export class StepConnectionError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'StepConnectionError';
  }
}

interface Pending {
  resolve(response: StepResponse): void;
  reject(err: Error): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * One client connection speaking STEP. Requests may be pipelined: replies come back in request
 * order (STEP has no request id), so a FIFO of pending promises is the whole correlation.
 */
export class StepClientConnection {
  private readonly pending: Pending[] = [];
  private readonly decoder: FrameDecoder;
  private closedError: Error | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    maxBinaryBytes: number,
  ) {
    this.decoder = new FrameDecoder({ maxJsonBytes: 16 * 1024 * 1024, maxBinaryBytes }, (frame) => this.onFrame(frame));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.fail(new StepConnectionError(`Bad reply from server: ${(err as Error).message}`, 'EPROTO'));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new StepConnectionError(err.message, err.code)));
    socket.on('close', () => this.fail(new StepConnectionError('Connection closed by the server', 'ECONNRESET')));
  }

  /** Opens a connection. */
  static connect(options: StepConnectOptions): Promise<StepClientConnection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tlsConnect({
            host: options.host,
            port: options.port,
            ca: options.tls.ca,
            rejectUnauthorized: options.tls.rejectUnauthorized ?? true,
            servername: options.tls.servername ?? (isIp(options.host) ? undefined : options.host),
            minVersion: 'TLSv1.2',
          })
        : netConnect({ host: options.host, port: options.port });
      const readyEvent = options.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new StepConnectionError(`Timed out connecting to ${options.host}:${options.port}`, 'ETIMEDOUT'));
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new StepConnectionError(`Cannot connect to ${options.host}:${options.port}: ${err.message}`, err.code));
      };
      socket.once('error', onError);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new StepClientConnection(socket, timeoutMs, options.maxBinaryBytes ?? 1024 * 1024 * 1024));
      });
    });
  }

  /** Number of requests sent whose reply has not arrived yet. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** True once the connection failed or was closed. */
  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Sends a request and resolves with its reply. Several may be outstanding at once. */
  request(json: StepJson, binary?: Buffer | null): Promise<StepResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      const [head, body] = encodeFrameParts(json, binary);
      this.socket.cork();
      this.socket.write(head);
      if (body) this.socket.write(body);
      this.socket.uncork();
      this.armTimer();
    });
  }

  /** Resolves once the socket can take more data (for callers that pipeline large blocks). */
  async writable(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.closedError) return;
    await waitForDrain(this.socket);
  }

  /** Writes raw bytes (tests use this to send malformed frames). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when the server closes the connection. */
  whenClosed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Closes the connection (outstanding requests fail). */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private onFrame(frame: StepFrame): void {
    const waiter = this.pending.shift();
    if (!waiter) return;
    if (frame.json) waiter.resolve({ json: frame.json, binary: frame.binary });
    else waiter.reject(new StepConnectionError(`Bad reply from server: ${frame.error?.message}`, 'EPROTO'));
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.fail(new StepConnectionError(`No reply within ${this.timeoutMs} ms`, 'ETIMEDOUT'));
      this.socket.destroy();
    }, this.timeoutMs);
  }

  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const waiter of this.pending.splice(0)) waiter.reject(err);
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
