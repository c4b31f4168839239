import { connect, createServer, type Server, type Socket } from 'node:net';

/** How the proxy shapes its link. */
export interface PacingProxyOptions {
  /** Where connections are forwarded (loopback). */
  targetPort: number;
  targetHost?: string;
  /** Bandwidth of each direction, shared by every connection through the proxy (like one uplink). */
  bitsPerSecond: number;
  /** Round-trip time added on top of loopback's (half in each direction). */
  addedRttMs?: number;
}

/** Bytes a connection may have waiting in a direction's queue before the proxy stops reading it (its router buffer). */
const QUEUE_BYTES_PER_CONNECTION = 64 * 1024;
const TICK_MS = 5;
/** Largest burst the link sends at once after an idle spell, as a token bucket would. */
const BURST_BYTES = 16 * 1024;

interface Queued {
  chunk: Buffer | null;
  from: Socket;
  to: Socket;
}

/**
 * One direction of the link: a FIFO shared by all connections, drained at the link rate, with
 * each piece delivered `delayMs` after it leaves. A connection whose queued bytes pass its share
 * of the buffer is paused, so the sender feels the link through TCP backpressure.
 */
class PacedDirection {
  private readonly queue: Queued[] = [];
  private readonly queuedBy = new Map<Socket, number>();
  private timer: NodeJS.Timeout | null = null;
  private budget = 0;
  private lastTick = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly delayMs: number,
  ) {}

  /** Queues bytes (or, with null, the end of `from`'s stream). */
  push(from: Socket, to: Socket, chunk: Buffer | null): void {
    this.queue.push({ chunk, from, to });
    const queued = (this.queuedBy.get(from) ?? 0) + (chunk?.length ?? 0);
    this.queuedBy.set(from, queued);
    if (queued > QUEUE_BYTES_PER_CONNECTION) from.pause();
    if (!this.timer) {
      this.lastTick = performance.now();
      this.budget = Math.min(this.budget, BURST_BYTES);
      this.timer = setInterval(() => this.tick(), TICK_MS);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private tick(): void {
    const now = performance.now();
    this.budget = Math.min(
      this.budget + ((now - this.lastTick) / 1000) * this.bytesPerSecond,
      BURST_BYTES + this.bytesPerSecond * (TICK_MS / 1000),
    );
    this.lastTick = now;
    while (this.queue.length > 0 && (this.budget >= 1 || this.queue[0].chunk === null)) {
      const head = this.queue[0];
      if (head.chunk === null) {
        this.queue.shift();
        this.deliver(head.to, null);
        continue;
      }
      const take = Math.min(head.chunk.length, Math.floor(this.budget));
      const piece = head.chunk.subarray(0, take);
      if (take === head.chunk.length) this.queue.shift();
      else head.chunk = head.chunk.subarray(take);
      this.budget -= take;
      const left = (this.queuedBy.get(head.from) ?? 0) - take;
      this.queuedBy.set(head.from, left);
      if (left <= QUEUE_BYTES_PER_CONNECTION / 2 && head.from.isPaused() && !head.from.destroyed) head.from.resume();
      this.deliver(head.to, piece);
    }
    if (this.queue.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private deliver(to: Socket, piece: Buffer | null): void {
    const send = () => {
      if (to.destroyed) return;
      if (piece) to.write(piece);
      else to.end();
    };
    if (this.delayMs > 0) setTimeout(send, this.delayMs);
    else send();
  }
}

/**
 * A user-space shaped link for the bench and the tests: a TCP proxy on loopback that limits the
 * bandwidth of each direction (one queue shared by every connection) and adds latency. Needs no
 * root, unlike tc, so `npm test` reproduces slow links anywhere.
 */
export class PacingProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly up: PacedDirection;
  private readonly down: PacedDirection;

  constructor(private readonly options: PacingProxyOptions) {
    const bytesPerSecond = options.bitsPerSecond / 8;
    const oneWay = (options.addedRttMs ?? 0) / 2;
    this.up = new PacedDirection(bytesPerSecond, oneWay);
    this.down = new PacedDirection(bytesPerSecond, oneWay);
  }

  /** Listens on an ephemeral loopback port and returns it. */
  async start(): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Closes the listener and every proxied connection. */
  async stop(): Promise<void> {
    this.up.stop();
    this.down.stop();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    client.pause();
    const upstream = connect({ port: this.options.targetPort, host: this.options.targetHost ?? '127.0.0.1' });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.once('connect', () => client.resume());
    client.on('data', (chunk: Buffer) => this.up.push(client, upstream, chunk));
    client.on('end', () => this.up.push(client, upstream, null));
    upstream.on('data', (chunk: Buffer) => this.down.push(upstream, client, chunk));
    upstream.on('end', () => this.down.push(upstream, client, null));
  }
}
