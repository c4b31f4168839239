import type { FileHandle } from 'node:fs/promises';
import { BlockBitmap } from './block-bitmap.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { PrefixHasher } from './prefix-hasher.js';

/** In-memory lifecycle of an upload; `cancelled` never reaches the database. */
export type ActiveState = 'uploading' | 'completing' | 'complete' | 'cancelled';

/**
 * An upload being received: its open partial file, received-block bitmap, prefix MD5 and the
 * writes in flight. One instance per upload, shared by every connection sending its blocks.
 */
export class ActiveUpload {
  state: ActiveState = 'uploading';
  /** Set while the file is being finalised; every caller awaits the same completion. */
  completion: Promise<string> | null = null;
  /** Set while blocks are read back from disk to extend the prefix MD5. */
  advancing: Promise<void> | null = null;
  /** Block MD5s (docs/protocol.md §6) to persist; null forgets the MD5 of a block re-sent without one. */
  readonly pendingBlockMd5s = new Map<number, string | null>();
  /** When a block last arrived (epoch ms): the expiry job spares uploads in use. */
  lastActivityAt = 0;
  /** When the row's counters (received_count, updated_at) were last written. */
  countersWrittenAt = 0;
  /**
   * Blocks the database counts as received by every instance together, as of the last receipt
   * (only where several instances record receipts; else the bitmap's count is the whole truth).
   */
  recordedCount = 0;
  /** When the receipts of other instances were last merged into `bitmap` (epoch ms). */
  othersMergedAt = 0;
  /**
   * True once the database showed that another instance cancelled, restarted or completed this
   * upload: it is `cancelled` here and must be evicted, so the next request reloads the key.
   */
  detached = false;
  /** Set once this instance was asked for its prefix MD5 by the instance completing the upload (SharedPrefixHash). */
  handingOver = false;
  private readonly inflight = new Map<number, number>();
  private readonly writes = new Set<Promise<unknown>>();

  constructor(
    readonly row: UploadEntity,
    public handle: FileHandle | null,
    readonly bitmap: BlockBitmap,
    readonly hasher: PrefixHasher,
  ) {}

  /** Marks the upload as changed elsewhere (see `detached`). */
  detach(): void {
    this.state = 'cancelled';
    this.detached = true;
  }

  /** True when every block is recorded, by this instance or by others. */
  get allRecorded(): boolean {
    return this.bitmap.complete || this.recordedCount >= this.row.totalBlock;
  }

  /** True once the upload was cancelled or restarted (its blocks must not be acknowledged). */
  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  get id(): string {
    return this.row.id;
  }

  /** Byte length of block `index` (the last block holds the remainder). */
  blockLength(index: number): number {
    const { size, blockSize, totalBlock } = this.row;
    return index === totalBlock - 1 ? size - index * blockSize : blockSize;
  }

  /** True if block `index` arrived or is being written right now. */
  isDuplicate(index: number): boolean {
    return this.bitmap.has(index) || this.inflight.has(index);
  }

  /** Tracks a block write so completion can wait for every write in flight. */
  async trackWrite<T>(index: number, write: Promise<T>): Promise<T> {
    this.inflight.set(index, (this.inflight.get(index) ?? 0) + 1);
    this.writes.add(write);
    try {
      return await write;
    } finally {
      this.writes.delete(write);
      const left = (this.inflight.get(index) ?? 1) - 1;
      if (left === 0) this.inflight.delete(index);
      else this.inflight.set(index, left);
    }
  }

  /** Resolves once no block write is in flight. */
  async writesDrained(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  /** Waits for the writes and read-backs in flight, then closes the partial file. */
  async close(): Promise<void> {
    await this.writesDrained();
    while (this.advancing) await this.advancing;
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  /** Block MD5s verified (or to forget) since the last persist. */
  takePendingBlockMd5s(): Array<[number, string | null]> {
    const entries = [...this.pendingBlockMd5s];
    this.pendingBlockMd5s.clear();
    return entries;
  }
}
