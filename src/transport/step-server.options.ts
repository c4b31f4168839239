/** Observes the transport for metrics and logs; every method is optional and must not throw. */
export interface StepServerObserver {
  /** A connection opened or closed; `open` is the count after the change. */
  connections?(open: number): void;
  /** A reply left for a request (request is null when the frame could not be parsed). */
  replied?(event: StepReplyEvent): void;
}

/** One answered request, as seen by observers. */
export interface StepReplyEvent {
  operation: string;
  type: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** Options of the STEP transport strategy, read once from the validated config. */
export interface StepServerOptions {
  host: string;
  port: number;
  /** Largest JSON section accepted, checked from the header before allocating. */
  maxJsonBytes: number;
  /** Largest binary section accepted, checked from the header before allocating. */
  maxBinaryBytes: number;
  /**
   * Once a frame has started, some of its bytes must arrive at least this often: a stalled peer
   * is dropped, a slow link that keeps moving bytes is not.
   */
  frameDeadlineMs: number;
  /** Absolute cap on one frame's arrival, however steadily it trickles in (slowloris). */
  frameMaxMs: number;
  /** A connection with no traffic and no work for this long is closed. */
  idleTimeoutMs: number;
  /** The same, for a connection that has not logged in yet (shorter: it has no business idling). */
  unauthenticatedIdleTimeoutMs: number;
  /** A TLS connection that has not finished its handshake within this time is closed. */
  tlsHandshakeTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Binary bytes a connection may have queued (pipelined) before the server stops reading it. */
  maxQueuedBytesPerConnection: number;
  /**
   * Bytes of block buffers, across all connections, for binary sections from the moment they
   * start arriving until their request is answered. A hard cap: past it, connections that want
   * a buffer stop reading (their peers wait in TCP) until one is given back.
   */
  maxPreallocatedBytes: number;
  /**
   * DOWNLOAD reply bytes, across all connections, read from disk but not yet taken by the kernel
   * (peers not reading). Past it, DOWNLOADs wait before their block is read.
   */
  maxPendingReplyBytes: number;
  /**
   * Checks a request's token before its binary section is read; rejects with the StepError to
   * answer. Unset: every FILE UPLOAD's section is read (the guard still checks the token).
   */
  authenticate?: (token: unknown) => Promise<unknown>;
  /** How long shutdown waits for in-flight requests before closing connections. */
  shutdownGraceMs: number;
  /** When set, STEP is spoken inside TLS 1.2+ with this certificate and key (docs/protocol.md §1). */
  tls?: { cert: Buffer; key: Buffer };
  observer?: StepServerObserver;
}
