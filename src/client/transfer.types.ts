import { StepConnectionError } from './step-client.connection.js';
import { DEFAULT_RETRY, type RetryPolicy } from './transfer-retry.js';
import { STEP_DEFAULT_BLOCK_SIZE } from '../protocol/index.js';
import type { StepJson } from '../protocol/index.js';
import { MAX_IN_FLIGHT, MIN_IN_FLIGHT } from './link-estimator.js';

const MiB = 1024 * 1024;

/** Connections a transfer opens unless told otherwise. */
export const DEFAULT_CONNECTIONS = 4;
/**
 * Connections against an old server, which gets one request at a time per connection: it
 * reads frames with recv calls that can swallow the start of a pipelined next request.
 */
export const OLD_SERVER_CONNECTIONS = 8;
/** Block size a transfer asks for (docs/protocol.md §6); the server may grant less, down to 20480. */
export const DEFAULT_REQUESTED_BLOCK_SIZE = 4 * MiB;
/** Largest block size the client accepts from a server (buffers are allocated from it). */
export const MAX_ACCEPTED_BLOCK_SIZE = 256 * MiB;
/**
 * Bytes kept in flight per connection when picking the default pipelining depth: two 4 MiB
 * blocks keep a fast link busy, and the server holds no more than it needs to.
 */
const IN_FLIGHT_BYTES_PER_CONNECTION = 8 * MiB;

/** What every finished transfer reports. */
export interface TransferResult {
  key: string;
  size: number;
  /** MD5 of the local file, computed while reading or writing it. */
  md5: string;
  verified: boolean;
  /** Blocks an earlier run had already moved, not transferred again. */
  resumedBlocks: number;
  totalBlocks: number;
  /** Block size of the last blocks moved (adaptive transfers grow it with the link). */
  blockSize: number;
  /** What the transfer ended up using: connections and requests in flight on each. */
  connections: number;
  inFlight: number;
  /** The server answered STATUS with "operation not allowed": one request in flight per connection. */
  oldServer: boolean;
  seconds: number;
  bytesPerSecond: number;
}

/** Progress of a transfer, in bytes. */
export interface TransferProgress {
  doneBytes: number;
  totalBytes: number;
}

/** Receives progress; called often, so keep it cheap. */
export type ProgressCallback = (progress: TransferProgress) => void;

/** Parallelism and retry settings shared by upload and download. */
export interface TransferTuning {
  /** Connections used in parallel (default 4; 8 against an old server). */
  connections?: number;
  /** Block size asked for (default: adaptive, from 32 KiB up to 4 MiB as the measured link allows). */
  blockSize?: number;
  /** Requests pipelined per connection (default: adaptive; 2-32 by block size when the block size is forced). */
  inFlightPerConnection?: number;
  retry?: RetryPolicy;
  onProgress?: ProgressCallback;
}

/** Tuning with every default filled in once the block size is known. */
export interface ResolvedTuning {
  connections: number;
  /** Requests in flight per connection (the starting value when `adaptive`). */
  inFlight: number;
  /** Block size and depth follow the measured link (LinkEstimator) rather than fixed values. */
  adaptive: boolean;
  oldServer: boolean;
  retry: RetryPolicy;
}

/**
 * Fills in defaults. An old server gets one request per connection and more connections.
 * A forced block size keeps a fixed depth (large blocks need few requests in
 * flight to hide the round trip, small ones many); otherwise the transfer adapts.
 */
export function resolveTuning(tuning: TransferTuning, blockSize: number, oldServer: boolean): ResolvedTuning {
  const retry = tuning.retry ?? DEFAULT_RETRY;
  if (oldServer) return { connections: tuning.connections ?? OLD_SERVER_CONNECTIONS, inFlight: 1, adaptive: false, oldServer, retry };
  const adaptive = tuning.blockSize === undefined && tuning.inFlightPerConnection === undefined;
  const byBytes = Math.ceil(IN_FLIGHT_BYTES_PER_CONNECTION / blockSize);
  return {
    connections: tuning.connections ?? DEFAULT_CONNECTIONS,
    inFlight: tuning.inFlightPerConnection ?? (adaptive ? MIN_IN_FLIGHT : Math.min(MAX_IN_FLIGHT, Math.max(MIN_IN_FLIGHT, byBytes))),
    adaptive,
    oldServer,
    retry,
  };
}

/** A block plan as the server granted it. */
export interface BlockPlan {
  size: number;
  blockSize: number;
  totalBlocks: number;
}

/** Reads and checks the plan fields of a SAVE/GET/STATUS reply; never trusts them blindly. */
export function readBlockPlan(json: StepJson, expectedSize?: number): BlockPlan {
  const size = json.size ?? expectedSize;
  const blockSize = json.block_size ?? STEP_DEFAULT_BLOCK_SIZE;
  if (!isCount(size) || !isCount(blockSize) || blockSize === 0 || blockSize > MAX_ACCEPTED_BLOCK_SIZE) {
    throw new StepConnectionError(`Server sent an unusable plan (size ${String(size)}, block_size ${String(blockSize)})`, 'EPROTO');
  }
  const totalBlocks = Math.ceil(size / blockSize);
  if (json.total_block !== undefined && json.total_block !== totalBlocks) {
    throw new StepConnectionError(`Server plan says ${String(json.total_block)} blocks, expected ${totalBlocks}`, 'EPROTO');
  }
  return { size, blockSize, totalBlocks };
}

/** Length of block `index` of a plan (the last one holds the remainder). */
export function blockLength(plan: BlockPlan, index: number): number {
  return Math.min(plan.blockSize, plan.size - index * plan.blockSize);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
