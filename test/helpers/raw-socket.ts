import { connect, type Socket } from 'node:net';
import { FrameDecoder, type StepJson } from '../../src/protocol/index.js';

/** A raw client socket that decodes every reply frame it receives (for limit and abuse tests). */
export interface RawSocket {
  socket: Socket;
  replies: StepJson[];
  /** True once the server closed (or reset) the connection. */
  readonly closed: boolean;
  /** Resolves once `count` replies arrived or the socket closed, or after `timeoutMs` (bounded). */
  waitForReplies(count: number, timeoutMs?: number): Promise<StepJson[]>;
  /** Resolves true once the socket is closed, false if it is still open after `timeoutMs`. */
  waitForClose(timeoutMs?: number): Promise<boolean>;
}

/** Connects to the STEP port on loopback, optionally from another loopback address. */
export function openRawSocket(port: number, localAddress?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const replies: StepJson[] = [];
    let closed = false;
    const listeners = new Set<() => void>();
    const notify = () => {
      for (const listener of [...listeners]) listener();
    };
    const decoder = new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 30 }, (frame) => {
      if (frame.json) replies.push(frame.json);
      notify();
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      notify();
    });
    const until = (done: () => boolean, timeoutMs: number) =>
      new Promise<void>((settle) => {
        if (done()) return settle();
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          settle();
        }, timeoutMs);
        listeners.add(check);
      });
    socket.once('connect', () =>
      resolve({
        socket,
        replies,
        get closed() {
          return closed;
        },
        async waitForReplies(count, timeoutMs = 5000) {
          await until(() => closed || replies.length >= count, timeoutMs);
          return replies;
        },
        async waitForClose(timeoutMs = 5000) {
          await until(() => closed, timeoutMs);
          return closed;
        },
      }),
    );
    socket.once('error', reject);
  });
}
