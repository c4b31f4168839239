import { ChunkOwnership } from './block-allocator.js';

const EMPTY = Buffer.alloc(0);

/**
 * The bytes a decoder has received but not consumed: a queue of chunks read from the front.
 * With transient chunks (views of a reused read buffer) whatever is kept past a push is copied,
 * into a tail buffer that grows geometrically, so a peer trickling one byte per read costs
 * O(1) per byte, not a walk over everything held.
 */
export class HeldBytes {
  private chunks: Buffer[] = [];
  private total = 0;
  /** The owned buffer the last chunk was copied into, and how much of it is used. */
  private tail: Buffer | null = null;
  private tailUsed = 0;

  constructor(private readonly ownership: ChunkOwnership) {}

  /** Bytes held. */
  get length(): number {
    return this.total;
  }

  /** Length of the first chunk (what can be viewed without copying). */
  get firstChunkLength(): number {
    return this.chunks[0]?.length ?? 0;
  }

  /** Queues a chunk by reference, to be decoded before push returns (see ownRemnant). */
  lend(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * Once decoding of a lent chunk is over, whatever of it is still held (only ever its
   * unconsumed end, the last chunk) is copied if the chunk was transient.
   */
  ownRemnant(chunk: Buffer): void {
    if (this.ownership !== ChunkOwnership.Transient || this.chunks.length === 0) return;
    const last = this.chunks[this.chunks.length - 1];
    if (last.buffer !== chunk.buffer || last === this.tailView()) return;
    this.chunks.pop();
    this.total -= last.length;
    this.keep(last);
  }

  /** Keeps bytes for later: by reference if owned, else copied. */
  keep(bytes: Buffer): void {
    if (this.ownership !== ChunkOwnership.Transient) {
      this.lend(bytes);
      return;
    }
    this.total += bytes.length;
    const last = this.tailView();
    const tail = this.tail;
    if (last && tail && this.tailUsed + bytes.length <= tail.length) {
      bytes.copy(tail, this.tailUsed);
      this.tailUsed += bytes.length;
      this.chunks[this.chunks.length - 1] = tail.subarray(last.byteOffset - tail.byteOffset, this.tailUsed);
      return;
    }
    // Doubling keeps a byte-at-a-time trickle linear: each byte is copied O(1) times on average.
    const kept = last ?? EMPTY;
    const fresh = Buffer.allocUnsafe(last ? 2 * (kept.length + bytes.length) : bytes.length);
    kept.copy(fresh, 0);
    bytes.copy(fresh, kept.length);
    this.tail = fresh;
    this.tailUsed = kept.length + bytes.length;
    if (last) this.chunks[this.chunks.length - 1] = fresh.subarray(0, this.tailUsed);
    else this.chunks.push(fresh.subarray(0, this.tailUsed));
  }

  /** Returns the next n bytes without consuming them (a view when possible). */
  peek(n: number): Buffer {
    // n may be 0 with nothing held (a frame with an empty JSON section ends a chunk).
    if (n === 0) return EMPTY;
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const merged = Buffer.concat(this.chunks, this.total);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  /** Consumes and returns the next n bytes (a view when possible). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.consumeFront(n);
    return out;
  }

  /** Consumes n bytes. */
  skip(n: number): void {
    this.peek(n);
    this.consumeFront(n);
  }

  /** Copies the next n bytes into the start of `target` and consumes them. */
  moveInto(target: Buffer, n: number): void {
    for (let filled = 0; filled < n;) {
      const chunk = this.chunks[0];
      const length = Math.min(chunk.length, n - filled);
      chunk.copy(target, filled, 0, length);
      filled += length;
      this.consumeFront(length);
    }
  }

  /** Empties the queue and returns its chunks (owned, or views to be decoded at once). */
  drain(): Buffer[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.total = 0;
    this.tail = null;
    return chunks;
  }

  /** The last chunk when it is the used part of the tail buffer (so bytes can be appended to it). */
  private tailView(): Buffer | undefined {
    const last = this.chunks[this.chunks.length - 1];
    const tail = this.tail;
    if (!last || !tail || last.buffer !== tail.buffer) return undefined;
    return last.byteOffset + last.length === tail.byteOffset + this.tailUsed ? last : undefined;
  }

  /** Drops n bytes that are all in the first chunk. */
  private consumeFront(n: number): void {
    if (n === 0) return;
    const first = this.chunks[0];
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.total -= n;
  }
}
