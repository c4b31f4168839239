import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { StepJson } from '../protocol/index.js';
import { StepOperation, StepType } from '../protocol/index.js';
import { BufferPool } from './buffer-pool.js';
import { ConnectionLanes, type ConnectionLane } from './connection-lanes.js';
import { ADAPTIVE_MAX_BLOCK_SIZE, ADAPTIVE_START_BLOCK_SIZE, LinkEstimator, MAX_IN_FLIGHT } from './link-estimator.js';
import { probeStatus } from './server-probe.js';
import { hasStatus, type StepClient } from './step-client.js';
import { ProgressClock, withGiveUpHint, withRetry } from './transfer-retry.js';
import {
  blockLength,
  DEFAULT_REQUESTED_BLOCK_SIZE,
  readBlockPlan,
  resolveTuning,
  type BlockPlan,
  type ResolvedTuning,
  type TransferResult,
  type TransferTuning,
} from './transfer.types.js';

/**
 * An adaptive upload starts with small blocks; when the first replies show a link fast enough
 * for blocks at least this many times larger, it asks for a new plan (SAVE restarts the upload,
 * docs/protocol.md §6) while little has been sent. Only within the first seconds: later the loss would count.
 */
const REGROW_FACTOR = 4;
const REGROW_WINDOW_MS = 3000;

/** What to upload. */
export interface UploadRequest extends TransferTuning {
  path: string;
  key: string;
  /** Replace a completed file under the same key (DELETE first) instead of failing with 402. */
  replace?: boolean;
}

/** The outcome of an upload (`resumedBlocks`: blocks the server already had). */
export interface UploadResult extends TransferResult {
  /** MD5 the server reported for the stored file (null when it reported none). */
  serverMd5: string | null;
}

/** The server's view of an upload, reduced to what the sender needs. */
interface UploadPlan extends BlockPlan {
  /** present[i] = 1 when the server already holds block i. */
  present: Uint8Array;
  serverMd5: string | null;
  /** A fresh plan at the adaptive start size, which may be replaced by one with larger blocks. */
  mayRegrow: boolean;
}

/**
 * Uploads one file: resumes what the server already holds (STATUS), otherwise asks for a plan
 * (SAVE); reads blocks sequentially into pooled buffers, hashing the whole file in the same pass,
 * and sends the missing ones pipelined over several connections, retrying failures with backoff.
 * Without forced values, block size and pipelining depth follow the measured link;
 * an old server (no STATUS) gets one request per connection over more connections.
 */
export class UploadEngine {
  private serverMd5: string | null = null;
  private failure: unknown = null;
  private doneBytes = 0;
  private readonly clock = new ProgressClock();
  private estimator!: LinkEstimator;
  /** Set when the first replies called for larger blocks: the pass stops and a new plan is asked for. */
  private regrowTo: number | null = null;
  private inFlight = 0;

  constructor(
    private readonly client: StepClient,
    private readonly request: UploadRequest,
  ) {}

  /** Runs the upload to completion (or throws the reason it could not). */
  async run(): Promise<UploadResult> {
    const started = performance.now();
    const file = await open(this.request.path, 'r');
    try {
      const { size } = await file.stat();
      const probe = await probeStatus(this.client, this.request.key);
      let plan = await this.plan(size, probe.status, probe.oldServer);
      const tuning = resolveTuning(this.request, plan.blockSize, probe.oldServer);
      let pass = await this.pass(file, plan, tuning, probe.rttMs);
      if (this.regrowTo !== null) {
        plan = await this.save(size, this.regrowTo);
        pass = await this.pass(file, plan, tuning, probe.rttMs);
      }
      const serverMd5 = this.serverMd5 ?? (await this.fetchServerMd5());
      const seconds = (performance.now() - started) / 1000;
      return {
        key: this.request.key,
        size,
        md5: pass.md5,
        serverMd5,
        verified: serverMd5 === pass.md5,
        resumedBlocks: pass.resumedBlocks,
        totalBlocks: plan.totalBlocks,
        blockSize: plan.blockSize,
        connections: tuning.connections,
        inFlight: this.inFlight,
        oldServer: tuning.oldServer,
        seconds,
        bytesPerSecond: seconds > 0 ? size / seconds : 0,
      };
    } catch (err) {
      throw withGiveUpHint(err);
    } finally {
      this.client.close();
      await file.close();
    }
  }

  /**
   * STATUS came first: a SAVE for a key whose upload is incomplete restarts it from zero (spec
   * A6), so only SAVE when there is nothing to resume. Old servers answer STATUS with 408.
   */
  private async plan(size: number, status: StepJson | null, oldServer: boolean): Promise<UploadPlan> {
    const { key, blockSize } = this.request;
    if (status?.complete === true && this.request.replace) {
      await this.client.call(StepType.FILE, StepOperation.DELETE, { key });
      status = null;
    }
    if (status && status.size === size && (blockSize === undefined || status.block_size === blockSize)) {
      const plan = readBlockPlan(status, size);
      const present = new Uint8Array(plan.totalBlocks);
      if (status.complete === true) present.fill(1);
      else markPresent(present, status.missing_ranges, status.missing_ranges_truncated === true);
      const serverMd5 = typeof status.md5 === 'string' ? status.md5 : null;
      return { ...plan, present, serverMd5, mayRegrow: false };
    }
    const adaptive = blockSize === undefined && this.request.inFlightPerConnection === undefined && !oldServer;
    const plan = await this.save(size, blockSize ?? (adaptive ? ADAPTIVE_START_BLOCK_SIZE : DEFAULT_REQUESTED_BLOCK_SIZE));
    // A server that granted another size than the start size does not follow requests: keep it.
    return { ...plan, mayRegrow: adaptive && plan.blockSize === ADAPTIVE_START_BLOCK_SIZE };
  }

  private async save(size: number, blockSize: number): Promise<UploadPlan> {
    const reply = await this.client.call(StepType.FILE, StepOperation.SAVE, { key: this.request.key, size, block_size: blockSize });
    const plan = readBlockPlan(reply.json, size);
    // C7: an empty file is complete at SAVE, whose reply then carries the MD5.
    const serverMd5 = typeof reply.json.md5 === 'string' ? reply.json.md5 : null;
    return { ...plan, present: new Uint8Array(plan.totalBlocks), serverMd5, mayRegrow: false };
  }

  /** One sequential pass over the file; stops early (regrowTo set) when the plan should be replaced. */
  private async pass(
    file: FileHandle,
    plan: UploadPlan,
    tuning: ResolvedTuning,
    rttMs: number,
  ): Promise<{ md5: string; resumedBlocks: number }> {
    this.regrowTo = null;
    this.doneBytes = 0;
    this.serverMd5 = plan.serverMd5;
    this.inFlight = tuning.inFlight;
    this.estimator = new LinkEstimator(tuning.connections);
    this.estimator.recordRtt(rttMs);
    const lanes = new ConnectionLanes(this.client, tuning.connections, tuning.inFlight);
    // One buffer per request in flight, plus one being hashed and one being read ahead (created when first needed).
    const buffers = new BufferPool(plan.blockSize, tuning.connections * (tuning.adaptive ? MAX_IN_FLIGHT : tuning.inFlight) + 2);
    const hash = createHash('md5');
    const sends = new Set<Promise<void>>();
    let resumedBlocks = 0;
    try {
      resumedBlocks = await this.readAndSend(file, plan, lanes, buffers, hash, sends, tuning);
    } catch (err) {
      this.failure ??= err;
    }
    // Even when reading failed, let the blocks in flight settle before the connections close.
    await Promise.all(sends);
    if (this.failure !== null) throw this.failure;
    return { md5: hash.digest('hex'), resumedBlocks };
  }

  /** The sequential pass: read, hash, and hand each missing block to a lane; returns the resumed count. */
  private async readAndSend(
    file: FileHandle,
    plan: UploadPlan,
    lanes: ConnectionLanes,
    buffers: BufferPool,
    hash: Hash,
    sends: Set<Promise<void>>,
    tuning: ResolvedTuning,
  ): Promise<number> {
    let resumedBlocks = 0;
    const readBlock = async (index: number): Promise<Buffer> => {
      const buffer = buffers.tryAcquire() ?? (await buffers.acquire());
      await readFully(file, buffer.subarray(0, blockLength(plan, index)), index * plan.blockSize);
      return buffer;
    };
    let next: Promise<Buffer> | null = plan.totalBlocks > 0 ? readBlock(0) : null;
    const started = performance.now();
    for (let index = 0; next !== null && this.failure === null; index++) {
      const buffer = await next;
      const length = blockLength(plan, index);
      const block = buffer.subarray(0, length);
      // Start the next read before hashing this block: the read runs in the thread pool while
      // the hash keeps this thread busy (readFully issues the read synchronously).
      next = index + 1 < plan.totalBlocks ? readBlock(index + 1) : null;
      // Every block is hashed in file order, sent or not: the whole-file MD5 needs one pass only.
      hash.update(block);
      if (plan.present[index] === 1) {
        resumedBlocks++;
        buffers.release(buffer);
        this.advance(length, plan.size);
        continue;
      }
      if (plan.mayRegrow && this.shouldRegrow(plan, started)) {
        buffers.release(buffer);
        break;
      }
      const lane = await lanes.acquire();
      const send = this.sendBlock(lane, plan, index, block, tuning)
        .then(() => {
          if (!tuning.adaptive) return;
          this.inFlight = this.estimator.inFlight(plan.blockSize);
          lanes.setPerLane(this.inFlight);
        })
        .catch((err: unknown) => {
          this.failure ??= err;
        })
        .finally(() => {
          lanes.release(lane);
          buffers.release(buffer);
        });
      sends.add(send);
      void send.then(() => sends.delete(send));
    }
    // Stopped early by a failure: the read ahead still owns a buffer; let it finish quietly.
    await next?.catch(() => undefined);
    return resumedBlocks;
  }

  /** True (and regrowTo set) when the link measured so far calls for much larger blocks than the plan's. */
  private shouldRegrow(plan: UploadPlan, started: number): boolean {
    if (performance.now() - started > REGROW_WINDOW_MS) {
      plan.mayRegrow = false;
      return false;
    }
    const wanted = this.estimator.blockSize();
    if (wanted < plan.blockSize * REGROW_FACTOR) return false;
    // Small probe blocks cost the most per byte, so the probe underestimates the link, and the
    // upload keeps this size to its end: ask for twice what was measured (the server caps it).
    this.regrowTo = Math.min(ADAPTIVE_MAX_BLOCK_SIZE, wanted * 2);
    return true;
  }

  private async sendBlock(lane: ConnectionLane, plan: UploadPlan, index: number, block: Buffer, tuning: ResolvedTuning): Promise<void> {
    const sent = await withRetry(tuning.retry, this.clock, async () => {
      // Another block failed for good, or a new plan is coming: stop spending requests on this pass.
      if (this.failure !== null || this.regrowTo !== null) return false;
      const connection = await lane.connection();
      // Backpressure: do not queue more block bytes while the socket has not drained.
      await connection.writable();
      try {
        const reply = await this.client.call(
          StepType.FILE,
          StepOperation.UPLOAD,
          { key: this.request.key, block_index: index },
          block,
          connection,
        );
        // The reply to the block that completes the file carries its MD5 (docs/protocol.md §6).
        if (typeof reply.json.md5 === 'string') this.serverMd5 = reply.json.md5;
      } catch (err) {
        // A retried block can land after the file completed (its first reply was lost): done.
        if (!(hasStatus(err, 408) && /completely uploaded/.test(err.statusMessage))) throw err;
      }
      return true;
    });
    if (!sent) return;
    this.clock.touch();
    this.estimator.recordBytes(block.length);
    this.advance(block.length, plan.size);
  }

  private advance(bytes: number, total: number): void {
    this.doneBytes += bytes;
    this.request.onProgress?.({ doneBytes: this.doneBytes, totalBytes: total });
  }

  /** The completing reply was lost (e.g. retried after a disconnect): GET the plan, which carries the MD5. */
  private async fetchServerMd5(): Promise<string | null> {
    const reply = await this.client.call(StepType.FILE, StepOperation.GET, { key: this.request.key });
    return typeof reply.json.md5 === 'string' ? reply.json.md5 : null;
  }
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

/** Positional read of exactly `target.length` bytes (a read may return fewer). */
async function readFully(file: FileHandle, target: Buffer, position: number): Promise<void> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await file.read(target, filled, target.length - filled, position + filled);
    if (bytesRead === 0) throw new Error('The file shrank while it was being uploaded');
    filled += bytesRead;
  }
}

/** Convenience wrapper: uploads one file with a logged-in (or not yet logged-in) client. */
export function uploadFile(client: StepClient, request: UploadRequest): Promise<UploadResult> {
  return new UploadEngine(client, request).run();
}
