import type { MessageHandler } from '@nestjs/microservices';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { encodeFrame, FrameDecoder, StepError, StepStatus, type StepFrame, type StepJson } from '../protocol/index.js';
import { ByteBudget } from './byte-budget.js';
import { ReadState, type ConnectionDispatcher, type OutgoingReply } from './step-connection.contracts.js';
import { StepConnection } from './step-connection.js';
import { StepReply } from './step.reply.js';
import { StepServer } from './step.server.js';
import type { StepServerOptions } from './step-server.options.js';

/** The server end of a connection: what the peer sends is pushed in, what the server writes is kept. */
class FakeSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly written: Buffer[] = [];
  /** Writes the socket was asked for (a real socket makes one syscall for each). */
  writes = 0;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes++;
    this.written.push(chunk);
    done();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    this.writes++;
    for (const { chunk } of chunks) this.written.push(chunk);
    done();
  }

  setNoDelay(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  /** Frames the server has written so far. */
  replies(): StepJson[] {
    const replies: StepJson[] = [];
    new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 20 }, (frame) => replies.push(frame.json!)).push(
      Buffer.concat(this.written),
    );
    return replies;
  }
}

const options: StepServerOptions = {
  host: '127.0.0.1',
  port: 0,
  maxJsonBytes: 4096,
  maxBinaryBytes: 1 << 20,
  frameDeadlineMs: 1000,
  frameMaxMs: 5000,
  idleTimeoutMs: 60_000,
  unauthenticatedIdleTimeoutMs: 60_000,
  tlsHandshakeTimeoutMs: 1000,
  maxConnections: 10,
  maxConnectionsPerAddress: 10,
  maxQueuedBytesPerConnection: 1 << 20,
  maxPreallocatedBytes: 1 << 20,
  maxPendingReplyBytes: 1 << 20,
  shutdownGraceMs: 1000,
};

const upload = (binary: Buffer) => encodeFrame({ type: 'FILE', operation: 'UPLOAD', direction: 'REQUEST', token: 't' }, binary);
const list = (n: number) => encodeFrame({ type: 'FILE', operation: 'LIST', direction: 'REQUEST', token: 't', n });

/** A dispatcher that admits what `admit` says and answers every frame with 200 (the frames are kept). */
function fakeDispatcher(admit: ConnectionDispatcher['admitBinary'] = () => null) {
  const frames: Array<StepFrame | StepError> = [];
  /** The first byte of each frame's binary section, read while it is dispatched: its buffer goes back to the pool after the reply. */
  const firstBytes: Array<number | undefined> = [];
  const dispatcher: ConnectionDispatcher = {
    admitBinary: vi.fn(admit),
    repliesWithBlock: () => false,
    written: vi.fn(),
    dispatch: vi.fn(async (item: StepFrame | StepError): Promise<OutgoingReply> => {
      frames.push(item);
      firstBytes.push(item instanceof StepError ? undefined : item.binary?.[0]);
      const json = item instanceof StepError ? { status: item.status } : { status: 200, n: item.json?.n };
      return { json, binary: null, lease: null, close: item instanceof StepError };
    }),
  };
  return { dispatcher, frames, firstBytes };
}

function connect(dispatcher: ConnectionDispatcher, preallocation = new ByteBudget(options.maxPreallocatedBytes)) {
  const socket = new FakeSocket();
  const pool = new BlockBufferPool();
  const shared = { pool, preallocation, replies: new ByteBudget(options.maxPendingReplyBytes), readBuffer: null };
  const connection = new StepConnection(1, socket as unknown as Socket, options, dispatcher, shared);
  connection.start();
  return { socket, connection, pool };
}

/** Lets the socket deliver what was pushed and the queue answer it. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StepConnection read loop', () => {
  it('decodes the same frames however the bytes are split', async () => {
    const block = Buffer.from('0123456789');
    const wire = Buffer.concat([list(1), upload(block), list(2)]);
    const cuts = [...Array.from({ length: wire.length - 1 }, (_, i) => [i + 1]), Array.from({ length: wire.length - 1 }, (_, i) => i + 1)];
    for (const at of cuts) {
      const { dispatcher, frames } = fakeDispatcher();
      const { socket, connection } = connect(dispatcher);
      [0, ...at].forEach((from, i) => socket.push(wire.subarray(from, at[i] ?? wire.length)));
      // One byte per read is a trickle: the damper spaces those reads out (real timers, a few ms each).
      await settle();
      await vi.waitFor(() => expect(frames).toHaveLength(3), { timeout: 10_000, interval: 5 });
      const seen = frames.map((f) => (f instanceof StepError ? f.status : [f.json?.operation, f.binary?.toString() ?? null]));
      expect(seen, `cut at ${at.length > 1 ? 'every byte' : at[0]}`).toEqual([
        ['LIST', null],
        ['UPLOAD', '0123456789'],
        ['LIST', null],
      ]);
      expect(connection.readState).toBe(ReadState.Reading);
      connection.destroy();
    }
  });

  it('answers pipelined requests in request order, one at a time, through the real dispatcher', async () => {
    const server = new StepServer(options);
    let releaseFirst!: () => void;
    const order: string[] = [];
    const handler = (async (json: StepJson) => {
      order.push(`start ${String(json.n)}`);
      if (json.n === 1) await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push(`end ${String(json.n)}`);
      return StepReply.ok(`reply ${String(json.n)}`);
    }) as MessageHandler;
    server.addHandler('FILE:LIST', handler);
    const { socket } = connect(server.dispatcher);
    socket.push(Buffer.concat([list(1), list(2), list(3)]));
    await settle();
    expect(order).toEqual(['start 1']);
    expect(socket.replies()).toEqual([]);
    releaseFirst();
    await settle();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(socket.replies().map((reply) => reply.status_msg)).toEqual(['reply 1', 'reply 2', 'reply 3']);
  });

  it('writes the replies of pipelined requests answered in one turn at once, a reply with a block by itself', async () => {
    const { dispatcher } = fakeDispatcher();
    const { socket } = connect(dispatcher);
    socket.push(Buffer.concat([list(1), list(2), list(3)]));
    await settle();
    expect(socket.replies().map((reply) => reply.n)).toEqual([1, 2, 3]);
    expect(socket.writes).toBe(1);

    const block = { buffer: Buffer.from('block'), release: vi.fn() };
    vi.mocked(dispatcher.dispatch).mockImplementation(async (item) => {
      const n = (item as StepFrame).json?.n;
      return { json: { status: 200, n }, binary: n === 5 ? block.buffer : null, lease: n === 5 ? block : null, close: false };
    });
    socket.push(Buffer.concat([list(4), list(5), list(6)]));
    await settle();
    expect(socket.replies().map((reply) => reply.n)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(socket.writes).toBe(4);
    expect(block.release).toHaveBeenCalledOnce();
  });

  it('writes the reply to a lock-step request at once, without corking the socket', async () => {
    const { dispatcher } = fakeDispatcher();
    const { socket } = connect(dispatcher);
    const cork = vi.spyOn(socket, 'cork');
    for (const n of [1, 2, 3]) {
      socket.push(list(n));
      await settle();
    }
    expect(socket.replies().map((reply) => reply.n)).toEqual([1, 2, 3]);
    expect(socket.writes).toBe(3);
    expect(cork).not.toHaveBeenCalled();
  });

  it('tells the dispatcher of each reply once it is written, so that observers come after the reply', async () => {
    const { dispatcher } = fakeDispatcher();
    const { socket } = connect(dispatcher);
    const writesSeen: number[] = [];
    vi.mocked(dispatcher.written!).mockImplementation(() => writesSeen.push(socket.writes));
    for (const n of [1, 2]) {
      socket.push(list(n));
      await settle();
    }
    expect(writesSeen).toEqual([1, 2]);
  });

  it('closes after refusing a binary section, without reading or holding the section', async () => {
    const refusal = new StepError(StepStatus.TOKEN_INVALID, 'Token is wrong.', { closeConnection: true });
    const { dispatcher, frames } = fakeDispatcher(() => refusal);
    const { socket, connection, pool } = connect(dispatcher);
    const acquire = vi.spyOn(pool, 'acquire');
    const wire = upload(Buffer.alloc(200_000, 7));
    socket.push(wire.subarray(0, 4096));
    await settle();
    socket.push(wire.subarray(4096));
    await settle();
    expect(frames).toEqual([refusal]);
    expect(socket.replies()).toEqual([{ status: 403 }]);
    expect(connection.readState).toBe(ReadState.Closing);
    expect(socket.writableEnded).toBe(true);
    expect(acquire).not.toHaveBeenCalled();
    connection.destroy();
  });

  it('holds a binary section while its admission is pending, pausing once bytes arrive, then reads it', async () => {
    let admit!: (verdict: StepError | null) => void;
    const { dispatcher, frames } = fakeDispatcher(() => new Promise((resolve) => (admit = resolve)));
    const { socket, connection } = connect(dispatcher);
    const wire = Buffer.concat([upload(Buffer.alloc(100_000, 1)), list(2)]);
    const bodyStart = wire.length - list(2).length - 100_000;
    socket.push(wire.subarray(0, bodyStart));
    await settle();
    expect(connection.readState).toBe(ReadState.AwaitingAdmission);
    expect(socket.isPaused()).toBe(false);
    socket.push(wire.subarray(bodyStart, bodyStart + 10));
    await settle();
    expect(socket.isPaused()).toBe(true);
    socket.push(wire.subarray(bodyStart + 10));
    admit(null);
    await settle();
    expect(connection.readState).toBe(ReadState.Reading);
    expect(frames.map((f) => (f as StepFrame).binary?.length ?? 0)).toEqual([100_000, 0]);
  });

  it('waits for block-buffer budget without reading, and resumes once it is given back', async () => {
    const budget = new ByteBudget(100_000);
    expect(budget.tryTake(100_000)).toBe(true);
    const { dispatcher, frames, firstBytes } = fakeDispatcher();
    const { socket, connection } = connect(dispatcher, budget);
    const wire = Buffer.concat([upload(Buffer.alloc(50_000, 2)), upload(Buffer.alloc(50_000, 3))]);
    for (let at = 0; at < wire.length; at += 1000) socket.push(wire.subarray(at, at + 1000));
    await settle();
    expect(connection.readState).toBe(ReadState.AwaitingBuffer);
    expect(socket.isPaused()).toBe(true);
    expect(frames).toEqual([]);
    // Room for one block: the first is read; the second waits until the first one's reply gives its buffer back.
    budget.give(50_000);
    await settle();
    expect(connection.readState).toBe(ReadState.Reading);
    expect(frames).toHaveLength(2);
    expect(firstBytes).toEqual([2, 3]);
    expect(budget.inUse).toBe(50_000);
  });

  it('closes a connection whose started frame stops making progress, not one that keeps trickling', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const stalled = connect(fakeDispatcher().dispatcher);
    stalled.socket.push(list(1).subarray(0, 5));
    await settle();
    vi.advanceTimersByTime(options.frameDeadlineMs - 1);
    expect(stalled.socket.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(stalled.socket.destroyed).toBe(true);

    const { dispatcher, frames } = fakeDispatcher();
    const trickling = connect(dispatcher);
    const wire = list(1);
    for (let i = 0; i < 4; i++) {
      trickling.socket.push(wire.subarray(i, i + 1));
      await settle();
      vi.advanceTimersByTime(options.frameDeadlineMs - 1);
    }
    expect(trickling.socket.destroyed).toBe(false);
    trickling.socket.push(wire.subarray(4));
    await settle();
    expect(frames).toHaveLength(1);
    vi.advanceTimersByTime(options.frameMaxMs);
    expect(trickling.socket.destroyed).toBe(false);
  });
});
