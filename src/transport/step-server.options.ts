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
   * is dropped, a slow link that keeps moving bytes is not (issue 12).
   */
  frameDeadlineMs: number;
  /** Absolute cap on one frame's arrival, however steadily it trickles in (slowloris). */
  frameMaxMs: number;
  /** A connection with no traffic and no work for this long is closed. */
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Binary bytes a connection may have queued (pipelined) before the server stops reading it. */
  maxQueuedBytesPerConnection: number;
  /**
   * Bytes of block buffers, across all connections, taken for binary sections that the peers
   * have not sent yet. A buffer is taken as soon as a block starts arriving (so its bytes are
   * copied in as they come), which lets a peer make the server hold memory it never fills until
   * the frame deadline; past this total, connections hold what has arrived and allocate at the end.
   */
  maxPreallocatedBytes: number;
  /** How long shutdown waits for in-flight requests before closing connections. */
  shutdownGraceMs: number;
  /** When set, STEP is spoken inside TLS 1.2+ with this certificate and key (spec C6). */
  tls?: { cert: Buffer; key: Buffer };
  observer?: StepServerObserver;
}
