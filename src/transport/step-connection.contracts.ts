import type { BlockBufferPool } from '../common/block-buffer-pool.js';
import type { BlockLease, FrameHead, StepFrame, StepJson, StepError } from '../protocol/index.js';
import type { ByteBudget } from './byte-budget.js';
import type { StepPeer } from './step.context.js';
import type { StepReplyEvent } from './step-server.options.js';

/** A reply ready to be written as one frame. */
export interface OutgoingReply {
  json: StepJson;
  binary: Buffer | null;
  /** Owns `binary` when it is pooled: released once the socket has written it (or will not). */
  lease: BlockLease | null;
  /** Close the connection once this reply is written (BYE, broken framing). */
  close: boolean;
  /** The request was served for a logged-in user (or logged one in): the connection is past login. */
  authenticated?: boolean;
  /** What observers are told of the reply once it is written (see ConnectionDispatcher.written). */
  event?: StepReplyEvent;
}

/** What a connection asks of StepDispatcher (an interface, so that connection specs can fake it). */
export interface ConnectionDispatcher {
  /** Turns a queued frame (or a framing error) into a reply; never rejects. */
  dispatch(item: StepFrame | StepError, peer: StepPeer): Promise<OutgoingReply>;
  /**
   * Decides, from a frame's JSON section, whether its binary section may be read at all: null
   * to read it, or the error to answer before closing (the section is never read or held).
   */
  admitBinary(head: FrameHead, peer: StepPeer): StepError | null | Promise<StepError | null>;
  /** True when the reply to `frame` may carry a block (it waits for reply budget first). */
  repliesWithBlock(frame: StepFrame): boolean;
  /**
   * The reply was handed to the socket: observers hear of it now, not before, so that a lock-step
   * client's next request does not wait for the metrics of its last reply.
   */
  written?(reply: OutgoingReply): void;
}

/** What all connections of one server share. */
export interface StepConnectionShared {
  /** Where block buffers come from (binary sections of requests; DOWNLOAD replies come leased). */
  pool: BlockBufferPool;
  /** Block buffers for binary sections still arriving or queued (STEP_MAX_PREALLOCATED_BYTES). */
  preallocation: ByteBudget;
  /** DOWNLOAD reply bytes written but not yet taken by the kernel (STEP_MAX_PENDING_REPLY_BYTES). */
  replies: ByteBudget;
  /** The buffer plain-TCP sockets read into (see adoptWithReadBuffer); null to use 'data' events. */
  readBuffer: Buffer | null;
}

/** Why a connection reads, or does not read, its socket: the one state of its read loop. */
export enum ReadState {
  Reading = 'reading',
  /** Too many request bytes queued: paused until the queue drains to half the limit. */
  QueueFull = 'queue-full',
  /**
   * A binary section waits for the dispatcher to admit it (token check). The socket is paused
   * only once bytes arrive meanwhile: the verdict is usually in before the next read.
   */
  AwaitingAdmission = 'awaiting-admission',
  /** A binary section waits for block-buffer budget. */
  AwaitingBuffer = 'awaiting-buffer',
  /** The peer trickles one frame in tiny pieces: reads are spaced out so that bytes batch up. */
  Throttled = 'throttled',
  /**
   * No more requests are read (refused frame, peer shut down, server shutting down, closed). A
   * read-buffered socket still reads and drops a little, to see the peer's close.
   */
  Stopped = 'stopped',
  /**
   * Stopped, and ending after a last reply (a refusal, BYE): whatever arrives is read and
   * dropped, without limit, until a short linger ends, so that the reply is not reset away.
   */
  Closing = 'closing',
}
