import type { StepJson } from '../protocol/index.js';
import { StepOperation, StepType } from '../protocol/index.js';
import { ADAPTIVE_MAX_BLOCK_SIZE, floorPow2, MIN_BLOCK_SIZE } from './link-estimator.js';
import type { StepClient } from './step-client.js';
import { readBlockPlan, type BlockPlan } from './transfer.types.js';

/**
 * An adaptive upload starts with small blocks; when the first replies show a link fast enough
 * for blocks at least this many times larger, it asks for a new plan with larger blocks.
 */
const REGROW_FACTOR = 4;
/** The new plan asks for this many times the block size measured. */
const REGROW_MARGIN = 2;
/**
 * A new plan (SAVE restarts the upload, docs/protocol.md §6) is asked for only while what the
 * current one acknowledged is at most this share of the file and this many bytes.
 */
const REPLAN_MAX_LOST_SHARE = 1 / 8;
const REPLAN_MAX_LOST_BYTES = 2 * 1024 * 1024;

/** The server's view of an upload, reduced to what the sender needs. */
export interface UploadPlan extends BlockPlan {
  /** present[i] = 1 when the server already holds block i. */
  present: Uint8Array;
  serverMd5: string | null;
  /**
   * A plan this engine asked for with nothing in it yet: it may be replaced by a SAVE with
   * another block size (which restarts the upload, docs/protocol.md §6) while little is sent.
   */
  replaceable: boolean;
  /** A fresh plan at the adaptive start size, which may be replaced by one with larger blocks. */
  mayRegrow: boolean;
}

/** SAVE: asks for a fresh plan (an empty file is complete at once and the reply carries its MD5). */
export async function savePlan(client: StepClient, key: string, size: number, blockSize: number): Promise<UploadPlan> {
  const reply = await client.call(StepType.FILE, StepOperation.SAVE, { key, size, block_size: blockSize });
  const plan = readBlockPlan(reply.json, size);
  const serverMd5 = typeof reply.json.md5 === 'string' ? reply.json.md5 : null;
  return { ...plan, present: new Uint8Array(plan.totalBlocks), serverMd5, replaceable: false, mayRegrow: false };
}

/** The plan of an incomplete (or complete) upload as STATUS described it: what is left to send. */
export function resumePlan(status: StepJson, size: number): UploadPlan {
  const plan = readBlockPlan(status, size);
  const present = new Uint8Array(plan.totalBlocks);
  if (status.complete === true) present.fill(1);
  else markPresent(present, status.missing_ranges, status.missing_ranges_truncated === true);
  const serverMd5 = typeof status.md5 === 'string' ? status.md5 : null;
  return { ...plan, present, serverMd5, replaceable: false, mayRegrow: false };
}

/** True while replacing `plan` loses little: the engine's own fresh plan, with at most `ackedBytes` of it acknowledged. */
export function mayReplace(plan: UploadPlan, ackedBytes: number): boolean {
  return plan.replaceable && ackedBytes <= Math.min(REPLAN_MAX_LOST_BYTES, plan.size * REPLAN_MAX_LOST_SHARE);
}

/** The block size to ask a new plan for when the link calls for `wanted`-byte blocks (null: keep the plan). */
export function regrownBlockSize(plan: UploadPlan, wanted: number): number | null {
  if (wanted < plan.blockSize * REGROW_FACTOR) return null;
  // Small probe blocks cost the most per byte and the probe runs in the slowest phase
  // (connection set-up, other clients starting at the same time), so it underestimates the
  // link, and the upload keeps the new size to its end: ask for more (the server caps it).
  return Math.min(ADAPTIVE_MAX_BLOCK_SIZE, wanted * REGROW_MARGIN);
}

/** The block size to ask for after a network failure: half the plan's (null: already the smallest). */
export function shrunkBlockSize(plan: UploadPlan): number | null {
  return plan.blockSize > MIN_BLOCK_SIZE ? Math.max(MIN_BLOCK_SIZE, floorPow2(plan.blockSize / 2)) : null;
}

/** The completing reply was lost (e.g. retried after a disconnect): GET the plan, which carries the MD5. */
export async function fetchServerMd5(client: StepClient, key: string): Promise<string | null> {
  const reply = await client.call(StepType.FILE, StepOperation.GET, { key });
  return typeof reply.json.md5 === 'string' ? reply.json.md5 : null;
}

/**
 * Marks every block outside the server's missing ranges as present; ignores malformed ranges.
 * A truncated list (docs/protocol.md §6 `missing_ranges_truncated`) says nothing about the blocks past its
 * last range: they are sent again (the server accepts duplicates), or the upload never completes.
 */
function markPresent(present: Uint8Array, missingRanges: unknown, truncated: boolean): void {
  present.fill(1);
  if (!Array.isArray(missingRanges)) {
    present.fill(0);
    return;
  }
  let listedUpTo = -1;
  for (const range of missingRanges) {
    if (!Array.isArray(range) || range.length !== 2) continue;
    const [first, last] = range as unknown[];
    if (typeof first !== 'number' || typeof last !== 'number') continue;
    present.fill(0, Math.max(0, first), Math.min(present.length, last + 1));
    listedUpTo = Math.max(listedUpTo, last);
  }
  if (truncated) present.fill(0, Math.max(0, listedUpTo + 1));
}
