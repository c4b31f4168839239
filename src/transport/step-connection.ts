import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import {
  ChunkOwnership,
  encodeFrameParts,
  DecoderHalt,
  FrameDecoder,
  type FrameHead,
  type StepFrame,
  StepError,
  StepStatus,
  FrameTooLargeError,
  waitForDrain,
} from '../protocol/index.js';
import { BudgetedBlockAllocator } from './budgeted-block-allocator.js';
import type { StepPeer } from './step.context.js';
import type { StepServerOptions } from './step-server.options.js';
import { blockBufferPool } from './buffer-pool.js';
import { adoptWithReadBuffer } from './read-buffer-socket.js';
import { ReplyCredits } from './reply-credits.js';
import { ReadState, type OutgoingReply, type StepConnectionShared, type StepDispatcher } from './step-connection.contracts.js';
import { TrickleDamper } from './trickle-damper.js';

export { ReadState, type OutgoingReply, type StepConnectionShared, type StepDispatcher } from './step-connection.contracts.js';

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

/**
 * How long a connection closing after its last reply (a refusal, BYE) reads and drops what the
 * peer still sends, so that the reply is not reset away, before it is destroyed.
 */
const CLOSING_LINGER_MS = 2000;

function queueCost(item: StepFrame | StepError): number {
  return item instanceof StepError ? 0 : item.wireBytes + FRAME_OVERHEAD_BYTES;
}

/**
 * One client connection: incremental decoding, a FIFO queue so replies leave in request order
 * (STEP has no request id), read backpressure, write backpressure and the connection's timers.
 */
export class StepConnection {
  private static readonly logger = new Logger('StepConnection');
  private readonly decoder: FrameDecoder;
  private readonly allocator: BudgetedBlockAllocator;
  private readonly socket: Socket;
  /** True when reads arrive through `receive` as views of the shared read buffer. */
  private readonly readBuffered: boolean;
  private readonly queue: Array<StepFrame | StepError> = [];
  private readonly credits: ReplyCredits;
  private queuedBytes = 0;
  private state = ReadState.Reading;
  /** Whether the socket is paused (it is read while Reading, and until bytes arrive while awaiting admission). */
  private paused = false;
  private waitingForBuffer = false;
  private readonly trickle = new TrickleDamper(() => this.updateReadState());
  private busy = false;
  private authenticated = false;
  private droppedAfterStop = 0;
  /** Closing after a last reply: whatever arrives is dropped, without limit, until the linger ends. */
  private lingering = false;
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
    this.allocator = new BudgetedBlockAllocator(blockBufferPool, shared.preallocation);
    this.credits = new ReplyCredits(shared.replies);
    this.decoder = new FrameDecoder(
      { maxJsonBytes: options.maxJsonBytes, maxBinaryBytes: options.maxBinaryBytes },
      (frame) => this.enqueue(frame),
      {
        allocator: this.allocator,
        chunks: this.readBuffered ? ChunkOwnership.Transient : ChunkOwnership.Owned,
        admitBinary: (head) => this.admitBinary(head),
      },
    );
  }

  /** Runs `listener` once the connection's socket has closed. */
  onClose(listener: () => void): void {
    this.socket.once('close', listener);
  }

  /** Starts reading. */
  start(): void {
    this.socket.setNoDelay(true);
    // Until it logs in, a connection gets the shorter idle timeout: it has no business idling.
    this.socket.setTimeout(Math.min(this.options.idleTimeoutMs, this.options.unauthenticatedIdleTimeoutMs));
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
      this.trickle.dispose();
      this.state = ReadState.Stopped;
      this.decoder.dispose();
      this.allocator.dispose();
      this.credits.giveBackAll();
      this.dropQueue();
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
    if (this.state === ReadState.Stopped) {
      this.droppedAfterStop += chunk.length;
      if (!this.lingering && this.droppedAfterStop > STOPPED_READ_ALLOWANCE_BYTES) this.setPaused(true);
      return;
    }
    // Bytes that arrive while a binary section awaits admission are held, and no more are read.
    if (this.state === ReadState.AwaitingAdmission) this.setPaused(true);
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
      // follow can no longer be framed (docs/protocol.md limits).
      this.refuse(new StepError(StepStatus.TOO_LARGE, err.message, { closeConnection: true }));
      return;
    }
    this.lastReceivedAt = performance.now();
    this.trickle.read(chunk.length, this.decoder.midFrame);
    this.updateReadState();
  }

  /** Called by the decoder once a frame's JSON says a binary section follows. */
  private admitBinary(head: FrameHead): boolean {
    const verdict = this.dispatcher.admitBinary(head, this.peer);
    if (verdict === null) return true;
    if (verdict instanceof StepError) {
      this.refuse(verdict);
      return false;
    }
    // The check is asynchronous (a token lookup): the decoder holds what arrives meanwhile, and
    // the socket is paused if anything does (updateReadState), so nothing more is read.
    verdict.then(
      (error) => {
        if (this.state === ReadState.Stopped) return;
        if (error) return this.refuse(error);
        this.decoder.resume();
        this.updateReadState();
      },
      (err: unknown) => {
        StepConnection.logger.error(`connection ${this.peer.connectionId}: admission failed`, (err as Error).stack);
        this.refuse(StepError.internal());
      },
    );
    return false;
  }

  /** Answers `error` after the requests queued before it, reads nothing more, then closes. */
  private refuse(error: StepError): void {
    this.stopReading();
    this.enqueue(
      error.options.closeConnection ? error : new StepError(error.status, error.message, { ...error.options, closeConnection: true }),
    );
  }

  private enqueue(item: StepFrame | StepError): void {
    // The deadline is per frame: a completed frame restarts it for the next one.
    this.clearFrameTimer();
    this.trickle.frameDone();
    this.queue.push(item);
    this.queuedBytes += queueCost(item);
    this.updateReadState();
    if (!this.busy) void this.run();
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.socket.destroyed) {
        const item = this.queue.shift()!;
        this.queuedBytes -= queueCost(item);
        this.updateReadState();
        // A DOWNLOAD waits for reply budget before its block is read: peers that do not read
        // their replies must not make the server hold one block per connection.
        const reserved = !(item instanceof StepError) && this.dispatcher.repliesWithBlock(item) ? this.options.maxBinaryBytes : 0;
        if (reserved > 0 && !(await this.credits.reserve(reserved, this.socket))) break;
        const reply = await this.dispatcher.dispatch(item, this.peer);
        // Handlers never keep a request's binary section past their reply: its buffer goes back.
        if (!(item instanceof StepError)) item.lease?.release();
        if (reply.authenticated && !this.authenticated) {
          this.authenticated = true;
          this.socket.setTimeout(this.options.idleTimeoutMs);
        }
        const credit = this.credits.settle(reserved, reply.binary?.length ?? 0);
        if (this.socket.destroyed) {
          credit();
          break;
        }
        const flushed = this.write(reply, credit);
        if (reply.close) {
          this.closeAfterReply();
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

  /** Writes one reply; `written` runs once the socket is done with its block. */
  private write(reply: OutgoingReply, written: () => void): boolean {
    const [head, body] = encodeFrameParts(reply.json, reply.binary);
    // Corked so header, JSON and block leave as one write: some clients read a reply with one recv.
    this.socket.cork();
    let flushed = this.socket.write(head);
    // A pooled reply block (DOWNLOAD) goes back to the pool once the socket is done with it.
    if (body) {
      flushed = this.socket.write(body, () => {
        blockBufferPool.release(body);
        written();
      });
    } else {
      written();
    }
    this.socket.uncork();
    return flushed;
  }

  /** Derives the read state from the queue and the decoder, and pauses or resumes the socket. */
  private updateReadState(): void {
    if (this.state === ReadState.Stopped) return;
    const limit = this.options.maxQueuedBytesPerConnection;
    if (this.decoder.halted === DecoderHalt.Admission) this.state = ReadState.AwaitingAdmission;
    else if (this.decoder.halted === DecoderHalt.Buffer) this.state = ReadState.AwaitingBuffer;
    // A client pipelining faster than we store must wait in its TCP window, not in our heap.
    else if (this.queuedBytes > limit || (this.state === ReadState.QueueFull && this.queuedBytes > limit / 2))
      this.state = ReadState.QueueFull;
    else if (this.trickle.pausing) this.state = ReadState.Throttled;
    else this.state = ReadState.Reading;
    if (this.state === ReadState.AwaitingBuffer && !this.waitingForBuffer) {
      this.waitingForBuffer = true;
      this.allocator.waitFor(this.decoder.pendingBinaryLength, () => {
        this.waitingForBuffer = false;
        this.decoder.resume();
        this.updateReadState();
      });
    }
    if (this.state === ReadState.Reading) {
      this.setPaused(false);
      this.armFrameTimer();
      return;
    }
    // Waiting for admission pauses only once bytes arrive meanwhile (see receive): the verdict
    // is usually in before the next read.
    if (this.state !== ReadState.AwaitingAdmission) this.setPaused(true);
    // A throttled trickle is the peer's delay and stays under the frame deadline; waiting on the server is not.
    if (this.state !== ReadState.Throttled) this.clearFrameTimer();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  /**
   * Ends the connection once its last reply is out. A peer still sending (the block of a refused
   * frame) is read and dropped for a short linger, not paused: a paused socket never sees the
   * peer's close, and closing with unread bytes would reset the reply away.
   */
  private closeAfterReply(): void {
    this.stopReading();
    this.dropQueue();
    this.lingering = true;
    this.setPaused(false);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSING_LINGER_MS).unref();
  }

  /** Forgets queued requests (the connection ends), giving their block buffers back. */
  private dropQueue(): void {
    for (const item of this.queue.splice(0)) if (!(item instanceof StepError)) item.lease?.release();
    this.queuedBytes = 0;
  }

  private stopReading(): void {
    this.state = ReadState.Stopped;
    this.allocator.dispose();
    this.clearFrameTimer();
    // A stopped 'data' socket stays paused; a read-buffered one keeps reading (and dropping) up
    // to STOPPED_READ_ALLOWANCE_BYTES so that it sees the peer's close.
    this.setPaused(!this.readBuffered);
  }

  private armFrameTimer(): void {
    if (this.state !== ReadState.Reading || !this.decoder.midFrame) {
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
