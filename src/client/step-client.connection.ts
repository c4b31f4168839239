import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeFrameParts, FrameDecoder, type StepFrame, type StepJson } from '../protocol/index.js';

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
  /** Connect timeout, and how long a connection with replies outstanding may move no byte, in ms. */
  timeoutMs?: number;
  /** Largest reply binary section accepted. */
  maxBinaryBytes?: number;
}

/** The connection failed, timed out or was closed with replies outstanding. */
export class StepConnectionError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
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
 * Large bodies are handed to the socket in slices of this size, one after the other, so that
 * each slice the kernel takes counts as progress: on a slow link a 4 MiB block takes minutes
 * and must not look like a dead connection. Small enough to move within a few
 * seconds on a 1 Mbit/s link shared by 8 connections, large enough to cost nothing on loopback.
 */
const WRITE_SLICE_BYTES = 128 * 1024;

/**
 * One client connection speaking STEP. Requests may be pipelined: replies come back in request
 * order (STEP has no request id), so a FIFO of pending promises is the whole correlation.
 */
export class StepClientConnection {
  private readonly pending: Pending[] = [];
  private readonly decoder: FrameDecoder;
  private closedError: Error | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When a byte last moved either way (performance.now()). */
  private lastActivity = performance.now();
  /** Frame parts waiting for the socket, written one slice at a time. */
  private readonly outbox: Buffer[] = [];
  private writing = false;
  private drainWaiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    maxBinaryBytes: number,
  ) {
    this.decoder = new FrameDecoder({ maxJsonBytes: 16 * 1024 * 1024, maxBinaryBytes }, (frame) => this.onFrame(frame));
    socket.on('data', (chunk: Buffer) => {
      this.lastActivity = performance.now();
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
      if (this.pending.length === 0) this.lastActivity = performance.now();
      this.pending.push({ resolve, reject });
      const [head, body] = encodeFrameParts(json, binary);
      this.outbox.push(head);
      for (let offset = 0; body && offset < body.length; offset += WRITE_SLICE_BYTES)
        this.outbox.push(body.subarray(offset, offset + WRITE_SLICE_BYTES));
      this.pump();
      this.armTimer();
    });
  }

  /** Resolves once every request written so far is in the kernel's hands (for callers that pipeline large blocks). */
  async writable(): Promise<void> {
    if ((this.outbox.length === 0 && !this.writing) || this.closedError) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
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

  /**
   * Writes the next slice (a small frame goes whole, header and JSON corked together) and the
   * one after it only once the socket took it, so a completed write is a sign of progress.
   */
  private pump(): void {
    if (this.writing || this.closedError) return;
    if (this.outbox.length === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.writing = true;
    const parts = [this.outbox.shift()!];
    let bytes = parts[0].length;
    while (this.outbox.length > 0 && bytes + this.outbox[0].length <= WRITE_SLICE_BYTES) {
      bytes += this.outbox[0].length;
      parts.push(this.outbox.shift()!);
    }
    this.socket.cork();
    parts.forEach((part, i) =>
      this.socket.write(
        part,
        i < parts.length - 1
          ? undefined
          : () => {
              this.writing = false;
              this.lastActivity = performance.now();
              this.pump();
            },
      ),
    );
    this.socket.uncork();
  }

  private onFrame(frame: StepFrame): void {
    const waiter = this.pending.shift();
    if (!waiter) return;
    if (frame.json) waiter.resolve({ json: frame.json, binary: frame.binary });
    else waiter.reject(new StepConnectionError(`Bad reply from server: ${frame.error?.message}`, 'EPROTO'));
    this.armTimer();
  }

  /** One timer while replies are outstanding; when it fires it checks how long ago a byte moved. */
  private armTimer(): void {
    if (this.pending.length === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.timer) return;
    this.scheduleCheck(this.timeoutMs);
  }

  private scheduleCheck(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.pending.length === 0) return;
      const quietFor = performance.now() - this.lastActivity;
      if (quietFor < this.timeoutMs) return this.scheduleCheck(this.timeoutMs - quietFor);
      this.fail(new StepConnectionError(`Nothing sent or received for ${this.timeoutMs} ms while waiting for a reply`, 'ETIMEDOUT'));
      this.socket.destroy();
    }, delayMs);
  }

  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.outbox.length = 0;
    this.pump();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    for (const waiter of this.pending.splice(0)) waiter.reject(err);
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
