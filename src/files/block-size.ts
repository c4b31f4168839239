import { STEP_DEFAULT_BLOCK_SIZE } from '../protocol/index.js';

/** The server's block-size bounds (STEP_MIN_BLOCK_SIZE, STEP_MAX_BLOCK_SIZE). */
export interface BlockSizeBounds {
  minBlockSize: number;
  maxBlockSize: number;
}

/**
 * The block size granted for a requested one (docs/protocol.md §6, §7): absent means 20480,
 * anything is clamped to the server's bounds.
 */
export function grantBlockSize(requested: number | undefined | null, bounds: BlockSizeBounds): number {
  // The default is clamped too: with STEP_MAX_BLOCK_SIZE under 20480 the transport refuses
  // 20480-byte blocks (413), so granting them would make every such upload fail.
  const wanted = requested === undefined || requested === null ? STEP_DEFAULT_BLOCK_SIZE : requested;
  return Math.min(bounds.maxBlockSize, Math.max(bounds.minBlockSize, wanted));
}
