import type { Socket } from 'node:net';
import { ConnectionCounter } from './connection-counter.js';
import { encodeFrame, replyJson, StepStatus } from '../protocol/index.js';

/** How long a refused connection may take to read its 429 before it is destroyed. */
const REFUSED_LINGER_MS = 2000;

/**
 * Who may connect: counts connections against STEP_MAX_CONNECTIONS and the per-address limit
 * from TCP accept, refuses the rest, and holds TLS connections to their handshake deadline.
 */
export class ConnectionGate {
  private readonly counter: ConnectionCounter;
  /** Refused sockets still flushing their 429 reply. */
  private refusing = 0;
  /** Handshake deadlines of accepted TLS connections, by their TCP socket. */
  private readonly handshakes = new WeakMap<Socket, NodeJS.Timeout>();

  constructor(
    private readonly maxConnections: number,
    maxConnectionsPerAddress: number,
    private readonly handshakeTimeoutMs: number,
  ) {
    this.counter = new ConnectionCounter(maxConnections, maxConnectionsPerAddress);
  }

  /** A plain-TCP connection: a release function to call once it has closed, or null once refused with 429. */
  admitPlain(socket: Socket): (() => void) | null {
    const release = this.counter.tryCount(socket.remoteAddress ?? 'unknown');
    if (!release) this.refuse(socket);
    return release;
  }

  /**
   * TCP accept on the TLS port: the connection counts from now, and must finish its handshake
   * within the deadline however slowly it trickles. Over a limit it is closed at once: a 429
   * cannot be said before the handshake.
   */
  admitTcp(raw: Socket): void {
    const release = this.counter.tryCount(raw.remoteAddress ?? 'unknown');
    if (!release) {
      raw.destroy();
      return;
    }
    const deadline = setTimeout(() => raw.destroy(), this.handshakeTimeoutMs);
    deadline.unref();
    this.handshakes.set(raw, deadline);
    raw.once('close', () => {
      clearTimeout(deadline);
      release();
    });
  }

  /** A TLS socket finished its handshake: true when it was admitted by admitTcp (its deadline is lifted). */
  secured(socket: Socket): boolean {
    // The TLS socket wraps the accepted TCP socket (Node keeps it as `_parent`).
    const raw = (socket as Socket & { _parent?: Socket })._parent;
    const deadline = raw ? this.handshakes.get(raw) : undefined;
    if (!deadline) return false;
    clearTimeout(deadline);
    return true;
  }

  /**
   * Spec B: too many connections gets 429, said once, then the connection closes. The refused
   * socket is drained (so closing it does not reset away the reply) and destroyed after a short
   * linger, and only so many may linger at once: a flood cannot pile up sockets this way either.
   */
  private refuse(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.refusing >= this.maxConnections) {
      socket.destroy();
      return;
    }
    this.refusing++;
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.refusing--;
    });
    socket.resume();
    socket.end(encodeFrame(replyJson(null, StepStatus.TOO_MANY, 'Too many connections. Try again later.')));
  }
}
