import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import {
  ChunkOwnership,
  DecoderHalt,
  FrameDecoder,
  FrameTooLargeError,
  StepError,
  StepStatus,
  type FrameHead,
  type StepFrame,
} from '../protocol/index.js';
import { BudgetedBlockAllocator } from './budgeted-block-allocator.js';
import { FrameDeadline } from './frame-deadline.js';
import { adoptWithReadBuffer } from './read-buffer-socket.js';
import { ReplyCredits } from './reply-credits.js';
import type { StepPeer } from './step.context.js';
import { ReadState, type ConnectionDispatcher, type StepConnectionShared } from './step-connection.contracts.js';
import { StepRequestQueue } from './step-request-queue.js';
import type { StepServerOptions } from './step-server.options.js';
import { TrickleDamper } from './trickle-damper.js';

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

/**
 * One client connection's read loop: incremental decoding into a FIFO of requests (answered by
 * StepRequestQueue), read backpressure, and the connection's timers. Whether the socket is read
 * at all is decided by one state, ReadState, derived from the decoder, the queue and the trickle
 * damper (docs/protocol.md §1).
 */
export class StepConnection {
  private static readonly logger = new Logger('StepConnection');
  readonly peer: StepPeer;
  private readonly socket: Socket;
  /** True when reads arrive through `receive` as views of the shared read buffer. */
  private readonly readBuffered: boolean;
  private readonly decoder: FrameDecoder;
  private readonly allocator: BudgetedBlockAllocator;
  private readonly credits: ReplyCredits;
  private readonly queue: StepRequestQueue;
  private readonly deadline: FrameDeadline;
  private readonly trickle = new TrickleDamper(() => this.updateReadState());
  private state = ReadState.Reading;
  private droppedAfterStop = 0;
  /** Past login: the longer idle timeout applies. */
  private loggedIn = false;

  /** @param socket accepted paused (pauseOnConnect), so that it can be given the read buffer */
  constructor(
    id: number,
    socket: Socket,
    private readonly options: StepServerOptions,
    private readonly dispatcher: ConnectionDispatcher,
    shared: StepConnectionShared,
  ) {
    this.peer = { remoteAddress: socket.remoteAddress ?? 'unknown', connectionId: id };
    const adopted = shared.readBuffer ? adoptWithReadBuffer(socket, shared.readBuffer, (chunk) => this.receive(chunk)) : null;
    this.socket = adopted ?? socket;
    this.readBuffered = adopted !== null;
    this.allocator = new BudgetedBlockAllocator(shared.pool, shared.preallocation);
    this.credits = new ReplyCredits(shared.replies);
    this.queue = new StepRequestQueue(this.socket, this.peer, dispatcher, this.credits, options.maxBinaryBytes, {
      dequeued: () => this.updateReadState(),
      authenticated: () => this.loggedInNow(),
      closing: () => this.closeAfterReply(),
    });
    this.deadline = new FrameDeadline(options.frameDeadlineMs, options.frameMaxMs, (why) => {
      StepConnection.logger.warn(`connection ${this.peer.connectionId}: frame ${why}, closing`);
      this.socket.destroy();
    });
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

  /** Why the socket is, or is not, being read. */
  get readState(): ReadState {
    return this.state;
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
      if (this.isIdle() || this.queue.awaitingDrain) this.socket.destroy();
    });
    // The server allows half-open sockets: a peer that sends its requests and then shuts down
    // its sending side still gets every reply before the connection ends.
    this.socket.on('end', () => void this.drainAndEnd());
    this.socket.on('error', (err) => StepConnection.logger.debug(`connection ${this.peer.connectionId}: ${err.message}`));
    this.socket.on('close', () => {
      this.deadline.dispose();
      this.trickle.dispose();
      this.state = ReadState.Stopped;
      this.decoder.dispose();
      this.allocator.dispose();
      this.credits.giveBackAll();
      this.queue.drop();
    });
  }

  /** True when no request is queued or being processed. */
  isIdle(): boolean {
    return this.queue.idle;
  }

  /** Stops reading new requests, finishes queued ones, then ends the connection (graceful shutdown). */
  async drainAndEnd(): Promise<void> {
    this.stopReading();
    if (!this.isIdle()) await this.queue.settled();
    this.socket.end();
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private get stopped(): boolean {
    return this.state === ReadState.Stopped || this.state === ReadState.Closing;
  }

  /** Bytes read from the socket (a view that may be reused once this returns, see readBuffered). */
  private receive(chunk: Buffer): void {
    if (this.stopped) {
      this.droppedAfterStop += chunk.length;
      if (this.state === ReadState.Stopped && this.droppedAfterStop > STOPPED_READ_ALLOWANCE_BYTES) this.setPaused(true);
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
      // follow can no longer be framed (docs/protocol.md §1).
      this.refuse(new StepError(StepStatus.TOO_LARGE, err.message, { closeConnection: true }));
      return;
    }
    this.deadline.progress();
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
    // the socket is paused if anything does (receive), so nothing more is read.
    verdict.then(this.admissionVerdict, this.admissionFailed);
    return false;
  }

  private readonly admissionVerdict = (error: StepError | null): void => {
    if (this.stopped) return;
    if (error) return this.refuse(error);
    this.decoder.resume();
    this.updateReadState();
  };

  private readonly admissionFailed = (err: unknown): void => {
    StepConnection.logger.error(`connection ${this.peer.connectionId}: admission failed`, (err as Error).stack);
    this.refuse(StepError.internal());
  };

  /** Budget for the binary section the decoder waits at is granted: the section can be read. */
  private readonly bufferGranted = (): void => {
    this.state = ReadState.Reading;
    this.decoder.resume();
    this.updateReadState();
  };

  /** Answers `error` after the requests queued before it, reads nothing more, then closes. */
  private refuse(error: StepError): void {
    this.stopReading();
    this.enqueue(
      error.options.closeConnection ? error : new StepError(error.status, error.message, { ...error.options, closeConnection: true }),
    );
  }

  private enqueue(item: StepFrame | StepError): void {
    // The deadline is per frame: a completed frame restarts it for the next one.
    this.deadline.clear();
    this.trickle.frameDone();
    this.queue.push(item);
    this.updateReadState();
    this.queue.process();
  }

  /** Derives the read state from the decoder, the queue and the damper, and pauses or resumes the socket. */
  private updateReadState(): void {
    if (this.stopped) return;
    const previous = this.state;
    this.state = this.nextReadState();
    // Entering AwaitingBuffer queues for budget; bufferGranted leaves it.
    if (this.state === ReadState.AwaitingBuffer && previous !== ReadState.AwaitingBuffer) {
      this.allocator.waitFor(this.decoder.pendingBinaryLength, this.bufferGranted);
    }
    if (this.state === ReadState.Reading) {
      this.setPaused(false);
      if (this.decoder.midFrame) this.deadline.arm();
      else this.deadline.clear();
      return;
    }
    // Waiting for admission pauses only once bytes arrive meanwhile (see receive).
    if (this.state !== ReadState.AwaitingAdmission) this.setPaused(true);
    // A throttled trickle is the peer's delay and stays under the frame deadline; waiting on the server is not.
    if (this.state !== ReadState.Throttled) this.deadline.clear();
  }

  private nextReadState(): ReadState {
    if (this.decoder.halted === DecoderHalt.Admission) return ReadState.AwaitingAdmission;
    if (this.decoder.halted === DecoderHalt.Buffer) return ReadState.AwaitingBuffer;
    // A client pipelining faster than we store must wait in its TCP window, not in our heap.
    const limit = this.options.maxQueuedBytesPerConnection;
    const queued = this.queue.bytes;
    if (queued > limit || (this.state === ReadState.QueueFull && queued > limit / 2)) return ReadState.QueueFull;
    if (this.trickle.pausing) return ReadState.Throttled;
    return ReadState.Reading;
  }

  private setPaused(paused: boolean): void {
    if (paused === this.socket.isPaused()) return;
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
    this.queue.drop();
    this.state = ReadState.Closing;
    this.setPaused(false);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSING_LINGER_MS).unref();
  }

  private stopReading(): void {
    this.state = ReadState.Stopped;
    this.allocator.dispose();
    this.deadline.clear();
    // A stopped 'data' socket stays paused; a read-buffered one keeps reading (and dropping) up
    // to STOPPED_READ_ALLOWANCE_BYTES so that it sees the peer's close.
    this.setPaused(!this.readBuffered);
  }

  private loggedInNow(): void {
    if (this.loggedIn) return;
    this.loggedIn = true;
    this.socket.setTimeout(this.options.idleTimeoutMs);
  }
}
