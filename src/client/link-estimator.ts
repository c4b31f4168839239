const KiB = 1024;
const MiB = 1024 * KiB;

/** Block size an adaptive transfer starts with: 8 of them in flight cross a 1 Mbit/s link in about 2 s. */
export const ADAPTIVE_START_BLOCK_SIZE = 32 * KiB;
/** Largest block an adaptive transfer grows to: the fast default on a fast link. */
export const ADAPTIVE_MAX_BLOCK_SIZE = 4 * MiB;
/** Requests in flight per connection, at least and at most. */
export const MIN_IN_FLIGHT = 2;
export const MAX_IN_FLIGHT = 32;
/** Smallest block a transfer shrinks to after network failures (the server grants down to 4 KiB). */
export const MIN_BLOCK_SIZE = 8 * KiB;
/** A block should take about this long on its connection: short enough for visible progress and cheap retries. */
const BLOCK_SECONDS = 1;
/** Throughput is measured over the completions of about this long. */
const RATE_WINDOW_MS = 2000;
/**
 * No estimate before this many completions over this long. The span starts at the first
 * completion: counting from the start would charge connection set-up to the link.
 */
const MIN_SAMPLES = 8;
const MIN_SPAN_MS = 25;

interface Sample {
  at: number;
  bytes: number;
}

/**
 * What a transfer has measured of its link (bytes completed over the last couple of seconds, the
 * smallest round-trip time seen) and the block size and pipelining depth that follow from it:
 * small blocks while the link is slow or unknown, the largest blocks two deep once it is fast.
 * Also remembers network failures, which cap the block size.
 */
export class LinkEstimator {
  private readonly samples: Sample[] = [];
  private total = 0;
  private minRttMs: number | null = null;
  private blockCap: number;

  constructor(
    private readonly connections: number,
    maxBlockSize = ADAPTIVE_MAX_BLOCK_SIZE,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.blockCap = maxBlockSize;
  }

  /** Records a request/reply round trip without payload (LOGIN, STATUS, GET). */
  recordRtt(ms: number): void {
    this.minRttMs = this.minRttMs === null ? ms : Math.min(this.minRttMs, ms);
  }

  /** Records `bytes` of payload that just completed (a block sent and acknowledged, or received). */
  recordBytes(bytes: number): void {
    const at = this.now();
    this.total += bytes;
    this.samples.push({ at, bytes: this.total });
    // Keep one sample older than the window as its baseline.
    while (this.samples.length > MIN_SAMPLES && at - this.samples[1].at > RATE_WINDOW_MS) this.samples.shift();
  }

  /** A transfer failed on the network with blocks of `blockSize`: ask for smaller ones from now on. */
  recordNetworkFailure(blockSize: number): void {
    this.blockCap = Math.max(MIN_BLOCK_SIZE, Math.min(this.blockCap, floorPow2(blockSize / 2)));
  }

  /** Bytes per second over the last couple of seconds; null while too little is measured. */
  throughput(): number | null {
    if (this.samples.length < MIN_SAMPLES) return null;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = this.now() - first.at;
    if (span < MIN_SPAN_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / span;
  }

  /** Smallest round-trip time seen, in ms (null before any). */
  get rttMs(): number | null {
    return this.minRttMs;
  }

  /** The block size the link calls for: a power of two between the start size and the cap (lower after failures). */
  blockSize(): number {
    const rate = this.throughput();
    if (rate === null) return Math.min(ADAPTIVE_START_BLOCK_SIZE, this.blockCap);
    const wanted = floorPow2((rate * BLOCK_SECONDS) / this.connections);
    return Math.min(this.blockCap, Math.max(ADAPTIVE_START_BLOCK_SIZE, wanted));
  }

  /**
   * Requests in flight per connection for blocks of `blockSize`: enough to cover twice the
   * bandwidth-delay product (replies come back in order, so a connection idles without them),
   * at least two so one block is always on the wire while the other is acknowledged.
   */
  inFlight(blockSize: number): number {
    const rate = this.throughput();
    if (rate === null || this.minRttMs === null) return MIN_IN_FLIGHT;
    const bdpPerConnection = (2 * rate * (this.minRttMs / 1000)) / this.connections;
    return Math.min(MAX_IN_FLIGHT, Math.max(MIN_IN_FLIGHT, Math.ceil(bdpPerConnection / blockSize) + 1));
  }
}

/** Largest power of two not above `n` (1 for anything below 2). */
export function floorPow2(n: number): number {
  return n < 2 ? 1 : 2 ** Math.floor(Math.log2(n));
}
