import { createHash, type Hash } from 'node:crypto';
import { rename, rm, type FileHandle } from 'node:fs/promises';
import { md5Hex } from '../common/md5.js';
import { StepOperation, StepType } from '../protocol/index.js';
import type { ConnectionLane } from './connection-lanes.js';
import { DownloadState } from './download-state.js';
import { Md5MismatchError } from './md5-mismatch.error.js';
import { openPartial } from './partial-file.js';
import { hashFile, writeFully } from './positional-io.js';
import { ADAPTIVE_MAX_BLOCK_SIZE, floorPow2, LinkEstimator } from './link-estimator.js';
import { probeStatus } from './server-probe.js';
import type { StepClient } from './step-client.js';
import { StepConnectionError } from './step-client.connection.js';
import { BlockIntegrityError, ProgressClock, withGiveUpHint, withRetry } from './transfer-retry.js';
import { TransferRunner } from './transfer-runner.js';
import {
  readBlockPlan,
  resolveTuning,
  type BlockPlan,
  type ResolvedTuning,
  type TransferResult,
  type TransferTuning,
} from './transfer.types.js';

export { Md5MismatchError };

/** What to download and where. */
export interface DownloadRequest extends TransferTuning {
  key: string;
  /** Final path; the data lands in `<out>.step-partial` first. */
  out: string;
}

/** The outcome of a download (`resumedBlocks`: found in an earlier run's partial file). */
export interface DownloadResult extends TransferResult {
  path: string;
}

/** Suffix of the file a download is written into before it is verified and renamed. */
export const PARTIAL_SUFFIX = '.step-partial';
const STATE_SAVE_INTERVAL_MS = 500;
/**
 * The unit spans count in: a quarter of the start size, so even a first 32 KiB span can be
 * fetched again in halves after a network failure.
 */
const DOWNLOAD_UNIT = 8 * 1024;

/**
 * The plan in units: the smallest block the server granted. A request fetches a span of 2^k
 * units aligned to its own size, so it is block `first / units` at block size `units x unit`
 * (downloads are stateless, docs/protocol.md §7) and every span maps onto the same units on disk.
 */
interface UnitPlan extends BlockPlan {
  /** Largest span, in units (1 when the block size is forced or the server grants one size). */
  maxUnits: number;
}

/**
 * Downloads one key: GET the plan, fetch blocks in parallel over several pipelined connections,
 * write them positionally into `<out>.step-partial`, hash the contiguous prefix as blocks land
 * (holding a bounded window of out-of-order blocks), verify the MD5 and rename into place.
 * Block sizes grow from 32 KiB as the measured link allows. A sidecar state file
 * makes an interrupted download resume.
 */
export class DownloadEngine {
  private doneBytes = 0;
  private readonly clock = new ProgressClock();
  /** Prefix hashing (null on resume, where the finished file is hashed once instead). */
  private hash: Hash | null = null;
  private nextToHash = 0;
  private readonly landed = new Map<number, { block: Buffer; units: number }>();
  private windowWaiter: (() => void) | null = null;
  private estimator!: LinkEstimator;
  private lastBlockSize = 0;

  constructor(
    private readonly client: StepClient,
    private readonly request: DownloadRequest,
  ) {}

  /** Runs the download to completion (or throws the reason it could not). */
  async run(): Promise<DownloadResult> {
    try {
      return await this.download();
    } catch (err) {
      throw withGiveUpHint(err);
    }
  }

  private async download(): Promise<DownloadResult> {
    const started = performance.now();
    const { key, out } = this.request;
    const probe = await probeStatus(this.client, key);
    const { plan, md5: expectedMd5, rttMs } = await this.plan();
    const tuning = resolveTuning(this.request, plan.blockSize, probe.oldServer);
    this.estimator = new LinkEstimator(tuning.connections, plan.blockSize * plan.maxUnits);
    this.estimator.recordRtt(Math.min(probe.rttMs, rttMs));
    const partial = out + PARTIAL_SUFFIX;
    const state = await DownloadState.load(`${partial}.state`, key, plan, expectedMd5);
    const file = await openPartial(partial, state);
    const resumedBlocks = state.count();
    let md5: string;
    let inFlight: number;
    try {
      // Nothing on disk yet: hash the prefix as blocks land. Resuming: hash the finished file once.
      if (resumedBlocks === 0) this.hash = createHash('md5');
      await file.truncate(plan.size);
      for (let i = 0; i < plan.totalBlocks; i++) if (state.received[i]) this.doneBytes += spanBytes(plan, i, 1);
      inFlight = await this.transfer(file, plan, state, tuning);
      md5 = this.hash ? this.hash.digest('hex') : await hashFile(file, plan.size);
      await file.datasync();
    } finally {
      await file.close();
    }
    if (md5 !== expectedMd5) {
      await rm(partial, { force: true });
      await state.remove();
      throw new Md5MismatchError(expectedMd5, md5);
    }
    await rename(partial, out);
    await state.remove();
    const seconds = (performance.now() - started) / 1000;
    return {
      key,
      path: out,
      size: plan.size,
      md5,
      verified: true,
      resumedBlocks,
      totalBlocks: plan.totalBlocks,
      blockSize: this.lastBlockSize || plan.blockSize,
      connections: tuning.connections,
      inFlight,
      oldServer: tuning.oldServer,
      seconds,
      bytesPerSecond: seconds > 0 ? plan.size / seconds : 0,
    };
  }

  /**
   * A forced block size is asked for once. Otherwise two GETs: the unit spans count in and the
   * largest size, so spans grow up to what the server grants.
   */
  private async plan(): Promise<{ plan: UnitPlan; md5: string; rttMs: number }> {
    let rttMs = Infinity;
    const get = async (blockSize: number) => {
      const started = performance.now();
      const reply = await this.client.call(StepType.FILE, StepOperation.GET, { key: this.request.key, block_size: blockSize });
      rttMs = Math.min(rttMs, performance.now() - started);
      const md5 = typeof reply.json.md5 === 'string' ? reply.json.md5.toLowerCase() : null;
      if (!md5) throw new StepConnectionError('The download plan carries no md5', 'EPROTO');
      return { plan: readBlockPlan(reply.json), md5 };
    };
    const forced = this.request.blockSize;
    const unit = await get(forced ?? DOWNLOAD_UNIT);
    if (forced !== undefined) return { plan: { ...unit.plan, maxUnits: 1 }, md5: unit.md5, rttMs };
    const largest = await get(ADAPTIVE_MAX_BLOCK_SIZE);
    const maxUnits = floorPow2(Math.max(1, Math.floor(largest.plan.blockSize / unit.plan.blockSize)));
    return { plan: { ...unit.plan, maxUnits }, md5: unit.md5, rttMs };
  }

  /** Fetches every missing unit; returns the requests in flight per connection at the end. */
  private async transfer(file: FileHandle, plan: UnitPlan, state: DownloadState, tuning: ResolvedTuning): Promise<number> {
    const runner = new TransferRunner(this.client, tuning.connections, tuning.inFlight, () => this.wakeWindow());
    let inFlight = tuning.inFlight;
    const saver = setInterval(() => void state.save().catch(() => undefined), STATE_SAVE_INTERVAL_MS);
    try {
      for (let first = 0; first < plan.totalBlocks && !runner.stopped;) {
        if (state.received[first]) {
          first++;
          continue;
        }
        const span = first;
        const units = this.spanAt(plan, state, span, tuning);
        // Out-of-order blocks wait in memory for the prefix hash: at most about two pipes' worth ahead of it.
        const windowUnits = tuning.connections * inFlight * units * 2;
        while (this.hash && span >= this.nextToHash + windowUnits && !runner.stopped) {
          await new Promise<void>((resolve) => (this.windowWaiter = resolve));
        }
        await runner.start(async (lane) => {
          await this.fetchSpan(lane, file, plan, state, span, units, tuning);
          if (!tuning.adaptive) return;
          inFlight = this.estimator.inFlight(this.estimator.blockSize());
          runner.setInFlight(inFlight);
        });
        first += units;
      }
      await runner.finish();
    } finally {
      clearInterval(saver);
      this.client.close();
      await state.save();
    }
    return inFlight;
  }

  /** The span to request at `first`: as large as the link calls for, aligned, and all of it still missing. */
  private spanAt(plan: UnitPlan, state: DownloadState, first: number, tuning: ResolvedTuning): number {
    let units = tuning.adaptive ? Math.min(plan.maxUnits, floorPow2(this.estimator.blockSize() / plan.blockSize)) : 1;
    const missing = (span: number) => state.received.subarray(first, Math.min(plan.totalBlocks, first + span)).every((bit) => bit === 0);
    while (units > 1 && (first % units !== 0 || !missing(units))) units /= 2;
    return units;
  }

  /**
   * Fetches a span, retrying failures; after a network failure the rest of the span is
   * fetched in halves (a slow or flaky link moves small blocks where large ones time out).
   */
  private async fetchSpan(
    lane: ConnectionLane,
    file: FileHandle,
    plan: UnitPlan,
    state: DownloadState,
    first: number,
    units: number,
    tuning: ResolvedTuning,
  ): Promise<void> {
    let pieceUnits = units;
    const end = Math.min(plan.totalBlocks, first + units);
    await withRetry(
      tuning.retry,
      this.clock,
      async () => {
        for (let piece = first; piece < end; piece += pieceUnits) {
          if (state.received[piece]) continue;
          const block = await this.fetchBlock(lane, plan, piece, pieceUnits);
          await this.land(file, plan, state, piece, pieceUnits, block);
        }
      },
      (err) => {
        if (!(err instanceof StepConnectionError)) return;
        this.estimator.recordNetworkFailure(pieceUnits * plan.blockSize);
        if (pieceUnits > 1) pieceUnits /= 2;
      },
    );
  }

  private async fetchBlock(lane: ConnectionLane, plan: UnitPlan, first: number, units: number): Promise<Buffer> {
    const blockSize = units * plan.blockSize;
    const index = first / units;
    const length = spanBytes(plan, first, units);
    const connection = await lane.connection();
    const reply = await this.client.call(
      StepType.FILE,
      StepOperation.DOWNLOAD,
      { key: this.request.key, block_index: index, block_size: blockSize },
      null,
      connection,
    );
    const binary = reply.binary ?? Buffer.alloc(0);
    if (binary.length !== length) throw new BlockIntegrityError(`block ${index} has ${binary.length} bytes, expected ${length}`);
    // When the server knows the block's MD5 (docs/protocol.md §7), check it before the block touches the file.
    const blockMd5 = reply.json.block_md5;
    if (typeof blockMd5 === 'string' && md5Hex(binary) !== blockMd5.toLowerCase())
      throw new BlockIntegrityError(`block ${index} fails its block_md5`);
    this.lastBlockSize = blockSize;
    return binary;
  }

  private async land(file: FileHandle, plan: UnitPlan, state: DownloadState, first: number, units: number, block: Buffer): Promise<void> {
    await writeFully(file, block, first * plan.blockSize);
    state.received.fill(1, first, Math.min(plan.totalBlocks, first + units));
    this.clock.touch();
    this.estimator.recordBytes(block.length);
    this.doneBytes += block.length;
    this.request.onProgress?.({ doneBytes: this.doneBytes, totalBytes: plan.size });
    if (this.hash) this.hashPrefix(first, units, block);
  }

  /** Hashes every span that now continues the contiguous prefix; keeps later ones until then. */
  private hashPrefix(first: number, units: number, block: Buffer): void {
    this.landed.set(first, { block, units });
    for (let next = this.landed.get(this.nextToHash); next; next = this.landed.get(this.nextToHash)) {
      this.hash!.update(next.block);
      this.landed.delete(this.nextToHash);
      this.nextToHash += next.units;
    }
    this.wakeWindow();
  }

  private wakeWindow(): void {
    const waiter = this.windowWaiter;
    this.windowWaiter = null;
    waiter?.();
  }
}

/** Bytes of the span of `units` units starting at unit `first` (the last one holds the remainder). */
function spanBytes(plan: BlockPlan, first: number, units: number): number {
  return Math.max(0, Math.min(units * plan.blockSize, plan.size - first * plan.blockSize));
}

/** Convenience wrapper: downloads one key. */
export function downloadFile(client: StepClient, request: DownloadRequest): Promise<DownloadResult> {
  return new DownloadEngine(client, request).run();
}
