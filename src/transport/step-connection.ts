import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { encodeFrameParts, FrameDecoder, type StepFrame, type StepJson } from './step.codec.js';
import type { StepPeer } from './step.context.js';
import { StepError } from './step.error.js';
import { StepStatus } from './step-status.js';
import type { StepServerOptions } from './step-server.options.js';
import { FrameTooLargeError } from './errors/frame-too-large.error.js';
import { blockBufferPool } from './buffer-pool.js';
import type { ByteBudget } from './byte-budget.js';
import { adoptWithReadBuffer } from './read-buffer-socket.js';
import { waitForDrain } from './wait-for-drain.js';

/** A reply ready to be written as one frame. */
export interface OutgoingReply {
  json: StepJson;
  binary: Buffer | null;
  /** Close the connection once this reply is written (BYE, broken framing). */
  close: boolean;
}

/** Turns a queued frame (or a framing error) into a reply; never rejects. */
export interface StepDispatcher {
  dispatch(item: StepFrame | StepError, peer: StepPeer): Promise<OutgoingReply>;
}

/**
 * What a queued frame is charged on top of its wire bytes: the decoded JSON object and queue
 * entry cost memory too, so thousands of tiny pipelined frames must also hit the queue limit.
 */
const FRAME_OVERHEAD_BYTES = 512;

/**
 * What a stopped connection still reads, and drops, so that it sees the peer's close. A paused
 * read-buffered socket stops reading at once, and one that never reads the FIN never closes
 * (half-open is allowed); past this it does stop, and the idle timeout ends it. ('data' sockets
 * behave the same way by themselves: pause() lets their stream buffer fill up to its mark.)
 */
const STOPPED_READ_ALLOWANCE_BYTES = 64 * 1024;

function queueCost(item: StepFrame | StepError): number {
  return item instanceof StepError ? 0 : item.wireBytes + FRAME_OVERHEAD_BYTES;
}

/** What all connections of one server share. */
export interface StepConnectionShared {
  /**
   * Bounds, across the connections, the bytes of block buffers taken for binary sections that
   * the peers have not sent yet (see FrameDecoderLimits.reserve).
   */
  preallocation: ByteBudget;
  /** The buffer plain-TCP sockets read into (see adoptWithReadBuffer); null to use 'data' events. */
  readBuffer: Buffer | null;
}

/**
 * One client connection: incremental decoding, a FIFO queue so replies leave in request order
 * (STEP has no request id), read backpressure, write backpressure and the connection's timers.
 */
export class StepConnection {
  private static readonly logger = new Logger('StepConnection');
  private readonly decoder: FrameDecoder;
  private readonly socket: Socket;
  /** True when reads arrive through `receive` as views of the shared read buffer. */
  private readonly readBuffered: boolean;
  private readonly queue: Array<StepFrame | StepError> = [];
  private queuedBytes = 0;
  private busy = false;
  private readPaused = false;
  private stopped = false;
  private droppedAfterStop = 0;
  private awaitingDrain = false;
  private frameTimer: NodeJS.Timeout | null = null;
  private frameStartedAt = 0;
  private lastReceivedAt = 0;
  private idleWaiters: Array<() => void> = [];
  readonly peer: StepPeer;

  /** @param socket accepted paused (pauseOnConnect), so that it can be given the read buffer */
  constructor(
    id: number,
    socket: Socket,
    private readonly options: StepServerOptions,
    private readonly dispatcher: StepDispatcher,
    shared: StepConnectionShared,
  ) {
    this.peer = { remoteAddress: socket.remoteAddress ?? 'unknown', connectionId: id };
    const adopted = shared.readBuffer ? adoptWithReadBuffer(socket, shared.readBuffer, (chunk) => this.receive(chunk)) : null;
    this.socket = adopted ?? socket;
    this.readBuffered = adopted !== null;
    const { preallocation } = shared;
    this.decoder = new FrameDecoder(
      {
        maxJsonBytes: options.maxJsonBytes,
        maxBinaryBytes: options.maxBinaryBytes,
        allocate: (size) => blockBufferPool.acquire(size),
        // A block is copied into its buffer as it arrives rather than held as socket chunks.
        reserve: (size) => (preallocation.tryTake(size) ? blockBufferPool.acquire(size) : null),
        settle: (bytes) => preallocation.give(bytes),
        discard: (buffer) => blockBufferPool.release(buffer),
        transientChunks: this.readBuffered,
      },
      (frame) => this.enqueue(frame),
    );
  }

  /** Runs `listener` once the connection's socket has closed. */
  onClose(listener: () => void): void {
    this.socket.once('close', listener);
  }

  /** Starts reading. */
  start(): void {
    this.socket.setNoDelay(true);
    this.socket.setTimeout(this.options.idleTimeoutMs);
    if (!this.readBuffered) {
      this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
      this.socket.resume();
    }
    this.socket.on('timeout', () => {
      // Only a connection with nothing in flight is idle; a long request keeps it open. A reply
      // that the peer has not read for a whole timeout (no socket activity) is stalled, not slow.
      if (this.isIdle() || this.awaitingDrain) this.socket.destroy();
    });
    // The server allows half-open sockets: a peer that sends its requests and then shuts down
    // its sending side still gets every reply before the connection ends.
    this.socket.on('end', () => void this.drainAndEnd());
    this.socket.on('error', (err) => StepConnection.logger.debug(`connection ${this.peer.connectionId}: ${err.message}`));
    this.socket.on('close', () => {
      this.clearFrameTimer();
      this.decoder.dispose();
      this.stopped = true;
      this.queue.length = 0;
      this.notifyIdle();
    });
  }

  /** True when no request is queued or being processed. */
  isIdle(): boolean {
    return !this.busy && this.queue.length === 0;
  }

  /** Stops reading new requests, finishes queued ones, then ends the connection (graceful shutdown). */
  async drainAndEnd(): Promise<void> {
    this.stopReading();
    if (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.socket.end();
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Bytes read from the socket (a view that may be reused once this returns, see readBuffered). */
  private receive(chunk: Buffer): void {
    if (this.stopped) {
      this.droppedAfterStop += chunk.length;
      if (this.droppedAfterStop > STOPPED_READ_ALLOWANCE_BYTES) this.socket.pause();
      return;
    }
    try {
      this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) {
        // A bug on one connection must never take the whole server down with it.
        StepConnection.logger.error(`connection ${this.peer.connectionId}: decoding failed`, (err as Error).stack);
        this.socket.destroy();
        return;
      }
      // The header alone refused the frame: answer 413, then close, since the bytes that
      // follow can no longer be framed (spec B, limits).
      this.stopReading();
      this.enqueue(
        new StepError(StepStatus.TOO_LARGE, err.message, { closeConnection: true }),
      );
      return;
    }
    this.lastReceivedAt = performance.now();
    this.armFrameTimer();
  }

  private enqueue(item: StepFrame | StepError): void {
    // The deadline is per frame: a completed frame restarts it for the next one.
    this.clearFrameTimer();
    this.queue.push(item);
    this.queuedBytes += queueCost(item);
    if (!this.readPaused && this.queuedBytes > this.options.maxQueuedBytesPerConnection) {
      // A client pipelining faster than we store must wait in its TCP window, not in our heap.
      this.readPaused = true;
      this.socket.pause();
      this.clearFrameTimer();
    }
    if (!this.busy) void this.run();
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.socket.destroyed) {
        const item = this.queue.shift()!;
        this.queuedBytes -= queueCost(item);
        this.maybeResume();
        const reply = await this.dispatcher.dispatch(item, this.peer);
        // Handlers never keep a request's binary section past their reply: reuse it.
        if (!(item instanceof StepError)) blockBufferPool.release(item.binary);
        if (this.socket.destroyed) break;
        const flushed = this.write(reply);
        if (reply.close) {
          this.stopReading();
          this.queue.length = 0;
          this.socket.end();
          break;
        }
        // Write backpressure: a slow reader must not make us buffer its DOWNLOAD replies.
        if (!flushed) {
          this.awaitingDrain = true;
          await waitForDrain(this.socket);
          this.awaitingDrain = false;
        }
      }
    } catch (err) {
      StepConnection.logger.error(`connection ${this.peer.connectionId} failed`, (err as Error).stack);
      this.socket.destroy();
    } finally {
      this.busy = false;
      this.notifyIdle();
    }
  }

  private write(reply: OutgoingReply): boolean {
    const [head, body] = encodeFrameParts(reply.json, reply.binary);
    // Corked so header, JSON and block leave as one write: some clients read a reply with one recv.
    this.socket.cork();
    let flushed = this.socket.write(head);
    // A pooled reply block (DOWNLOAD) goes back to the pool once the socket is done with it.
    if (body) flushed = this.socket.write(body, () => blockBufferPool.release(body));
    this.socket.uncork();
    return flushed;
  }

  private maybeResume(): void {
    if (this.readPaused && !this.stopped && this.queuedBytes <= this.options.maxQueuedBytesPerConnection / 2) {
      this.readPaused = false;
      this.socket.resume();
      this.armFrameTimer();
    }
  }

  private stopReading(): void {
    this.stopped = true;
    this.clearFrameTimer();
    if (!this.readBuffered) this.socket.pause();
    else if (this.readPaused) this.socket.resume();
  }

  private armFrameTimer(): void {
    if (this.stopped || this.readPaused || !this.decoder.midFrame) {
      this.clearFrameTimer();
      return;
    }
    // One timer per frame, not one per chunk: when it fires it checks how long ago bytes came.
    if (this.frameTimer) return;
    this.frameStartedAt = performance.now();
    this.lastReceivedAt = this.frameStartedAt;
    this.scheduleFrameCheck(Math.min(this.options.frameDeadlineMs, this.options.frameMaxMs));
  }

  private scheduleFrameCheck(delayMs: number): void {
    this.frameTimer = setTimeout(() => this.checkFrameProgress(), delayMs);
    this.frameTimer.unref();
  }

  /** A frame dies when its bytes stop for frameDeadlineMs, or when it is still incomplete after frameMaxMs. */
  private checkFrameProgress(): void {
    const now = performance.now();
    const stalledFor = this.options.frameDeadlineMs - (now - this.lastReceivedAt);
    const capLeft = this.options.frameMaxMs - (now - this.frameStartedAt);
    if (stalledFor > 0 && capLeft > 0) return this.scheduleFrameCheck(Math.min(stalledFor, capLeft));
    const why = capLeft <= 0 ? `incomplete after ${this.options.frameMaxMs} ms` : `no bytes for ${this.options.frameDeadlineMs} ms`;
    StepConnection.logger.warn(`connection ${this.peer.connectionId}: frame ${why}, closing`);
    this.socket.destroy();
  }

  private clearFrameTimer(): void {
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = null;
  }

  private notifyIdle(): void {
    if (!this.isIdle() && !this.socket.destroyed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
