/** Blocks per bitmap chunk row (4 KiB of bits). */
export const BITMAP_CHUNK_BITS = 32_768;
const CHUNK_BYTES = BITMAP_CHUNK_BITS / 8;

/** A chunk of the bitmap as stored in `upload_blocks`. */
export interface BitmapChunk {
  chunk: number;
  bits: Buffer;
}

/**
 * Which blocks of an upload arrived. Tracks the chunks changed since the last persist so a
 * progress write costs what changed, not the size of the file.
 */
export class BlockBitmap {
  private readonly bits: Buffer;
  private received = 0;
  private readonly dirty = new Set<number>();

  constructor(readonly total: number) {
    this.bits = Buffer.alloc(Math.ceil(total / 8));
  }

  /** Rebuilds a bitmap from its stored chunks. */
  static fromChunks(total: number, chunks: BitmapChunk[]): BlockBitmap {
    const bitmap = new BlockBitmap(total);
    for (const { chunk, bits } of chunks) {
      bits.copy(bitmap.bits, chunk * CHUNK_BYTES, 0, Math.min(bits.length, bitmap.bits.length - chunk * CHUNK_BYTES));
    }
    for (let i = 0; i < total; i++) if (bitmap.has(i)) bitmap.received++;
    return bitmap;
  }

  /** Number of blocks received. */
  get count(): number {
    return this.received;
  }

  /** True when every block arrived. */
  get complete(): boolean {
    return this.received === this.total;
  }

  /** Whether block `index` arrived. */
  has(index: number): boolean {
    return (this.bits[index >> 3] & (1 << (index & 7))) !== 0;
  }

  /** Marks block `index` received; false when it already was. */
  set(index: number): boolean {
    if (this.has(index)) return false;
    this.bits[index >> 3] |= 1 << (index & 7);
    this.received++;
    this.dirty.add(Math.floor(index / BITMAP_CHUNK_BITS));
    return true;
  }

  /** The chunks changed since the last call, as views (persist them before the next change). */
  takeDirtyChunks(): BitmapChunk[] {
    const chunks = [...this.dirty].map((chunk) => ({
      chunk,
      bits: this.bits.subarray(chunk * CHUNK_BYTES, Math.min((chunk + 1) * CHUNK_BYTES, this.bits.length)),
    }));
    this.dirty.clear();
    return chunks;
  }

  /** Marks every chunk dirty again (after a failed persist). */
  markAllDirty(): void {
    for (let chunk = 0; chunk * BITMAP_CHUNK_BITS < this.total; chunk++) this.dirty.add(chunk);
  }

  /** Missing blocks as inclusive `[first, last]` ranges, at most `limit` of them. */
  missingRanges(limit: number): Array<[number, number]> {
    const ranges: Array<[number, number]> = [];
    let start = -1;
    for (let i = 0; i < this.total && ranges.length < limit; i++) {
      if (!this.has(i)) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        ranges.push([start, i - 1]);
        start = -1;
      }
    }
    if (start >= 0 && ranges.length < limit) ranges.push([start, this.total - 1]);
    return ranges;
  }
}
