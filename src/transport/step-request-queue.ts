import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { encodeFrameParts, StepError, waitForDrain, type StepFrame } from '../protocol/index.js';
import type { ReplyCredits } from './reply-credits.js';
import type { StepPeer } from './step.context.js';
import type { ConnectionDispatcher, OutgoingReply } from './step-connection.contracts.js';

/**
 * What a queued frame is charged on top of its wire bytes: the decoded JSON object and queue
 * entry cost memory too, so thousands of tiny pipelined frames must also hit the queue limit.
 */
const FRAME_OVERHEAD_BYTES = 512;

function queueCost(item: StepFrame | StepError): number {
  return item instanceof StepError ? 0 : item.wireBytes + FRAME_OVERHEAD_BYTES;
}

/** What the write side of a connection is doing. */
enum WriteState {
  Idle = 'idle',
  /** A DOWNLOAD waits for reply budget before its handler reads a block. */
  AwaitingReplyBudget = 'awaiting-reply-budget',
  Dispatching = 'dispatching',
  /** The last reply is not taken by the kernel yet: nothing more is written before it is. */
  AwaitingDrain = 'awaiting-drain',
}

/** What the queue tells its connection. */
export interface RequestQueueEvents {
  /** A request left the queue: its bytes no longer count against the connection's limit. */
  dequeued(): void;
  /** A reply put the connection past login. */
  authenticated(): void;
  /** The reply just written ends the connection (BYE, a refusal). */
  closing(): void;
}

/**
 * The write side of one connection: a FIFO of decoded requests answered one at a time, so that
 * replies leave in request order (docs/protocol.md §1: STEP has no request id), with the reply
 * budget for DOWNLOAD and write backpressure.
 */
export class StepRequestQueue {
  private static readonly logger = new Logger('StepConnection');
  private readonly items: Array<StepFrame | StepError> = [];
  private queuedBytes = 0;
  private state = WriteState.Idle;
  private settledWaiters: Array<() => void> = [];
  /** Small replies of this event-loop turn are being collected for one write (see write). */
  private corkedTurn = false;

  constructor(
    private readonly socket: Socket,
    private readonly peer: StepPeer,
    private readonly dispatcher: ConnectionDispatcher,
    private readonly credits: ReplyCredits,
    /** What a DOWNLOAD reserves before its block is read: the largest block. */
    private readonly replyReserveBytes: number,
    private readonly events: RequestQueueEvents,
  ) {}

  /** Bytes of the requests waiting in the queue (see FRAME_OVERHEAD_BYTES). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** True when no request is queued or being answered. */
  get idle(): boolean {
    return this.state === WriteState.Idle && this.items.length === 0;
  }

  /** True while a reply waits for the peer to read it (a peer that stopped reading is stalled). */
  get awaitingDrain(): boolean {
    return this.state === WriteState.AwaitingDrain;
  }

  /** Queues a decoded frame, or an error to answer in its place (see process). */
  push(item: StepFrame | StepError): void {
    this.items.push(item);
    this.queuedBytes += queueCost(item);
  }

  /** Starts answering the queue, unless that is under way already. */
  process(): void {
    if (this.state === WriteState.Idle) void this.run();
  }

  /** Forgets queued requests (the connection ends), giving their block buffers back. */
  drop(): void {
    for (const item of this.items.splice(0)) if (!(item instanceof StepError)) item.lease?.release();
    this.queuedBytes = 0;
    this.notifySettled();
  }

  /** Resolves once nothing is queued or being answered any more, or the socket is gone. */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.notifySettled();
    });
  }

  private async run(): Promise<void> {
    this.state = WriteState.Dispatching;
    try {
      while (this.items.length > 0 && !this.socket.destroyed) {
        const item = this.items.shift()!;
        this.queuedBytes -= queueCost(item);
        this.events.dequeued();
        // A DOWNLOAD waits for reply budget before its block is read: peers that do not read
        // their replies must not make the server hold one block per connection.
        const reserved = !(item instanceof StepError) && this.dispatcher.repliesWithBlock(item) ? this.replyReserveBytes : 0;
        if (reserved > 0) {
          this.state = WriteState.AwaitingReplyBudget;
          if (!(await this.credits.reserve(reserved, this.socket))) break;
          this.state = WriteState.Dispatching;
        }
        const reply = await this.dispatcher.dispatch(item, this.peer);
        // Handlers never keep a request's binary section past their reply (a holder that does
        // takes its own lease): the connection's lease goes back.
        if (!(item instanceof StepError)) item.lease?.release();
        if (reply.authenticated) this.events.authenticated();
        const credit = this.credits.settle(reserved, reply.binary?.length ?? 0);
        if (this.socket.destroyed) {
          reply.lease?.release();
          credit();
          break;
        }
        const flushed = this.write(reply, credit);
        this.dispatcher.written?.(reply);
        if (reply.close) {
          this.events.closing();
          break;
        }
        // Write backpressure: a slow reader must not make us buffer its DOWNLOAD replies.
        if (!flushed) {
          this.state = WriteState.AwaitingDrain;
          await waitForDrain(this.socket);
          this.state = WriteState.Dispatching;
        }
      }
    } catch (err) {
      StepRequestQueue.logger.error(`connection ${this.peer.connectionId} failed`, (err as Error).stack);
      this.socket.destroy();
    } finally {
      this.state = WriteState.Idle;
      this.notifySettled();
    }
  }

  private notifySettled(): void {
    if (!this.idle && !this.socket.destroyed) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Writes one reply; `written` runs once the socket is done with its block. Header, JSON and
   * block leave as one write (some clients read a reply with one recv). Replies without a block
   * that are answered in the same event-loop turn (pipelined small requests) are corked until
   * the turn ends, or until the last queued one is written, and leave in one write instead of
   * one syscall each. The reply to a lock-step client (nothing else queued) is written at once.
   */
  private write(reply: OutgoingReply, written: () => void): boolean {
    const [head, body] = encodeFrameParts(reply.json, reply.binary);
    if (!body) {
      // Every frame of a read is queued before the first of them is answered (dispatch is
      // asynchronous): with nothing queued, no other reply can join this one in this turn.
      const more = this.items.length > 0;
      if (more) this.corkForTurn();
      const flushed = this.socket.write(head);
      if (!more) this.uncorkTurn();
      reply.lease?.release();
      written();
      return flushed;
    }
    // A reply with a block is written at once, after any small replies corked before it.
    this.uncorkTurn();
    const lease = reply.lease;
    this.socket.cork();
    this.socket.write(head);
    // A pooled reply block (DOWNLOAD) goes back to the pool once the socket is done with it.
    const flushed = this.socket.write(body, () => {
      lease?.release();
      written();
    });
    this.socket.uncork();
    return flushed;
  }

  private corkForTurn(): void {
    if (this.corkedTurn) return;
    this.corkedTurn = true;
    this.socket.cork();
    // A tick queued from a promise continuation runs once the microtask queue is empty, that
    // is after every reply this turn's requests produce without waiting for I/O.
    process.nextTick(this.uncorkTurn);
  }

  private readonly uncorkTurn = (): void => {
    if (!this.corkedTurn) return;
    this.corkedTurn = false;
    this.socket.uncork();
  };
}
