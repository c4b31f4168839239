/**
 * Blocks per bitmap chunk row (1 KiB of bits): a receipt rewrites one chunk row, and SQLite
 * rewrites a 1 KiB cell in about half the time of a 2 KiB one (the WAL frame is one 4 KiB page
 * either way). Stored rows follow this size (migrations Rechunk*UploadBlocks1764500000000).
 */
export const BITMAP_CHUNK_BITS = 8192;
const CHUNK_BYTES = BITMAP_CHUNK_BITS / 8;
/**
 * Most new block indexes kept between two receipts (a receipt normally names a few). Past this,
 * or after a failed persist, only the dirty chunks say what changed, and a receipt sends them whole.
 */
export const NEW_BLOCKS_LIMIT = 1024;
/**
 * Bytes compared at once when skipping runs: a 64 GiB upload in 512-byte blocks has a 16 MiB
 * bitmap, and walking it bit by bit cost a STATUS seconds of event loop; whole pages of set or
 * clear bits are recognised with one native compare.
 */
const PAGE_BYTES = 4096;
const CLEAR_PAGE = Buffer.alloc(PAGE_BYTES, 0x00);
const SET_PAGE = Buffer.alloc(PAGE_BYTES, 0xff);
/** Set bits per byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, value) => {
  let n = 0;
  for (let v = value; v; v >>= 1) n += v & 1;
  return n;
});

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
  private newBlocks: number[] | null = [];

  constructor(readonly total: number) {
    this.bits = Buffer.alloc(Math.ceil(total / 8));
  }

  /** Rebuilds a bitmap from its stored chunks. */
  static fromChunks(total: number, chunks: BitmapChunk[]): BlockBitmap {
    const bitmap = new BlockBitmap(total);
    for (const { chunk, bits } of chunks) {
      bits.copy(bitmap.bits, chunk * CHUNK_BYTES, 0, Math.min(bits.length, bitmap.bits.length - chunk * CHUNK_BYTES));
    }
    // Bits past the last block are never set; a stored chunk must not make them count.
    if (total % 8 !== 0 && bitmap.bits.length > 0) bitmap.bits[bitmap.bits.length - 1] &= (1 << (total % 8)) - 1;
    bitmap.received = bitmap.countSet();
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
    if (this.newBlocks && this.newBlocks.length < NEW_BLOCKS_LIMIT) this.newBlocks.push(index);
    else this.newBlocks = null;
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

  /**
   * The blocks set since the last call (in the order they arrived), or null when only the dirty
   * chunks can tell (too many, or a persist failed since): take both together.
   */
  takeNewBlocks(): number[] | null {
    const blocks = this.newBlocks;
    this.newBlocks = [];
    return blocks;
  }

  /**
   * Adds the blocks `other` holds (receipts of other instances, read from the database). They are
   * already stored, so no chunk becomes dirty.
   */
  merge(other: BlockBitmap): void {
    let changed = false;
    for (let byte = 0; byte < this.bits.length; byte++) {
      const merged = this.bits[byte] | other.bits[byte];
      if (merged !== this.bits[byte]) {
        this.bits[byte] = merged;
        changed = true;
      }
    }
    if (changed) this.received = this.countSet();
  }

  /** Marks every chunk dirty again (after a failed persist). */
  markAllDirty(): void {
    for (let chunk = 0; chunk * BITMAP_CHUNK_BITS < this.total; chunk++) this.dirty.add(chunk);
    this.newBlocks = null;
  }

  /**
   * Missing blocks as inclusive `[first, last]` ranges, at most `limit` of them. The work is
   * bounded by the ranges found and the bitmap's pages, not by the number of blocks.
   */
  missingRanges(limit: number): Array<[number, number]> {
    const ranges: Array<[number, number]> = [];
    const wholeBytes = Math.floor(this.total / 8);
    let start = -1;
    const clear = (index: number) => {
      if (start < 0) start = index;
    };
    const set = (index: number) => {
      if (start >= 0) ranges.push([start, index - 1]);
      start = -1;
    };
    for (let byte = 0; byte < this.bits.length && ranges.length < limit;) {
      const base = byte * 8;
      const uniform = byte % PAGE_BYTES === 0 && byte + PAGE_BYTES <= wholeBytes ? this.uniformPage(byte) : null;
      if (uniform !== null) {
        if (uniform === 0) clear(base);
        else set(base);
        byte += PAGE_BYTES;
        continue;
      }
      const value = this.bits[byte];
      if (byte < wholeBytes && (value === 0 || value === 0xff)) {
        if (value === 0) clear(base);
        else set(base);
      } else {
        for (let i = base; i < Math.min(base + 8, this.total) && ranges.length < limit; i++) {
          if (value & (1 << (i - base))) set(i);
          else clear(i);
        }
      }
      byte++;
    }
    if (start >= 0 && ranges.length < limit) ranges.push([start, this.total - 1]);
    return ranges;
  }

  /** 0x00 or 0xff when the page at byte `offset` is all clear or all set, else null. */
  private uniformPage(offset: number): number | null {
    if (this.bits.compare(CLEAR_PAGE, 0, PAGE_BYTES, offset, offset + PAGE_BYTES) === 0) return 0x00;
    if (this.bits.compare(SET_PAGE, 0, PAGE_BYTES, offset, offset + PAGE_BYTES) === 0) return 0xff;
    return null;
  }

  /** Number of set bits (blocks past `total` are never set). */
  private countSet(): number {
    let n = 0;
    for (let byte = 0; byte < this.bits.length;) {
      const uniform = byte % PAGE_BYTES === 0 && byte + PAGE_BYTES <= this.bits.length ? this.uniformPage(byte) : null;
      if (uniform !== null) {
        if (uniform === 0xff) n += PAGE_BYTES * 8;
        byte += PAGE_BYTES;
      } else {
        n += POPCOUNT[this.bits[byte++]];
      }
    }
    return n;
  }
}
