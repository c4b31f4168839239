/**
 * How the frame decoder gets memory for binary sections, and who owns it afterwards. The decoder
 * knows nothing of pools or budgets: the server's policy lives behind BlockAllocator.
 */

/**
 * One hold on a block buffer: the type that says who owns it. Whoever holds the lease (the
 * decoder while it fills it, then the frame's consumer) calls release() once, after which it must
 * not touch the buffer; a second release() does nothing. A holder that keeps the buffer longer
 * takes a lease of its own (the server's BlockBufferPool shares one), never a bare reference.
 */
export interface BlockLease {
  readonly buffer: Buffer;
  release(): void;
}

/** Where binary sections are put. */
export interface BlockAllocator {
  /** A buffer for a section whose bytes have all arrived already (never refused: they are held anyway). */
  allocate(size: number): BlockLease;
  /**
   * A buffer for a section still arriving, filled piece by piece; null when none can be granted
   * now, which halts the decoder (holding nothing more than it has) until it is resumed.
   */
  reserve(size: number): BlockLease | null;
}

/** Who owns the chunks given to FrameDecoder.push. */
export enum ChunkOwnership {
  /** The caller hands them over: the decoder may keep views of them (a socket's 'data' chunks). */
  Owned = 'owned',
  /**
   * Views of memory the caller reuses once push returns (a socket's onread buffer): the decoder
   * copies whatever it keeps and never hands out a view of them.
   */
  Transient = 'transient',
}

/** Plain allocation, garbage-collected: for clients and tests, where nothing is bounded. */
export const heapAllocator: BlockAllocator = {
  allocate: (size) => ({ buffer: Buffer.allocUnsafe(size), release: () => undefined }),
  reserve: (size) => ({ buffer: Buffer.allocUnsafe(size), release: () => undefined }),
};
