import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { StepJson } from '../protocol/index.js';
import { isCompletelyUploadedMessage, StepOperation, StepStatus, StepType } from '../protocol/index.js';
import { BoundedBufferPool } from './bounded-buffer-pool.js';
import type { ConnectionLane } from './connection-lanes.js';
import { ADAPTIVE_START_BLOCK_SIZE, LinkEstimator, MAX_IN_FLIGHT } from './link-estimator.js';
import { readFully } from './positional-io.js';
import { probeStatus } from './server-probe.js';
import { hasStatus, type StepClient } from './step-client.js';
import { StepConnectionError } from './step-client.connection.js';
import { ProgressClock, withGiveUpHint, withRetry } from './transfer-retry.js';
import { TransferRunner } from './transfer-runner.js';
import {
  blockLength,
  DEFAULT_REQUESTED_BLOCK_SIZE,
  resolveTuning,
  type ResolvedTuning,
  type TransferResult,
  type TransferTuning,
} from './transfer.types.js';
import { fetchServerMd5, mayReplace, regrownBlockSize, resumePlan, savePlan, shrunkBlockSize, type UploadPlan } from './upload-plan.js';

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

/**
 * Uploads one file: resumes what the server already holds (STATUS), otherwise asks for a plan
 * (SAVE); reads blocks sequentially into pooled buffers, hashing the whole file in the same pass,
 * and sends the missing ones pipelined over several connections, retrying failures with backoff.
 * Without forced values, block size and pipelining depth follow the measured link: the plan is
 * replaced by one with larger blocks when the first replies show a fast link, and by one with
 * smaller blocks when the network fails before much was sent. An old server (no STATUS) gets
 * one request per connection over more connections.
 */
export class UploadEngine {
  private serverMd5: string | null = null;
  private doneBytes = 0;
  /** Bytes the current plan's pass had acknowledged (what replacing the plan would lose). */
  private ackedBytes = 0;
  private readonly clock = new ProgressClock();
  private estimator!: LinkEstimator;
  /** Set when the current plan should be replaced by one with this block size: the pass stops. */
  private replanTo: number | null = null;
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
      while (this.replanTo !== null) {
        const previous = plan.blockSize;
        plan = await savePlan(this.client, this.request.key, size, this.replanTo);
        // Asking a server that will not grant smaller blocks again would loop: keep its plan.
        plan.replaceable = plan.blockSize !== previous && (this.replanTo > previous || plan.blockSize < previous);
        pass = await this.pass(file, plan, tuning, probe.rttMs);
      }
      const serverMd5 = this.serverMd5 ?? (await fetchServerMd5(this.client, this.request.key));
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
   * STATUS came first: a SAVE for a key whose upload is incomplete restarts it from zero
   * (docs/protocol.md §6), so only SAVE when there is nothing to resume. Old servers answer STATUS with 408.
   */
  private async plan(size: number, status: StepJson | null, oldServer: boolean): Promise<UploadPlan> {
    const { key, blockSize } = this.request;
    if (status?.complete === true && this.request.replace) {
      await this.client.call(StepType.FILE, StepOperation.DELETE, { key });
      status = null;
    }
    if (status && status.size === size && (blockSize === undefined || status.block_size === blockSize)) return resumePlan(status, size);
    const adaptive = blockSize === undefined && this.request.inFlightPerConnection === undefined && !oldServer;
    const plan = await savePlan(this.client, key, size, blockSize ?? (adaptive ? ADAPTIVE_START_BLOCK_SIZE : DEFAULT_REQUESTED_BLOCK_SIZE));
    plan.replaceable = adaptive;
    // A server that granted another size than the start size does not follow requests: keep it.
    plan.mayRegrow = adaptive && plan.blockSize === ADAPTIVE_START_BLOCK_SIZE;
    return plan;
  }

  /** One sequential pass over the file; stops early (replanTo set) when the plan should be replaced. */
  private async pass(
    file: FileHandle,
    plan: UploadPlan,
    tuning: ResolvedTuning,
    rttMs: number,
  ): Promise<{ md5: string; resumedBlocks: number }> {
    this.replanTo = null;
    this.doneBytes = 0;
    this.ackedBytes = 0;
    this.serverMd5 = plan.serverMd5;
    this.inFlight = tuning.inFlight;
    this.estimator = new LinkEstimator(tuning.connections);
    this.estimator.recordRtt(rttMs);
    const runner = new TransferRunner(this.client, tuning.connections, tuning.inFlight);
    // One buffer per request in flight, plus one being hashed and one being read ahead (created when first needed).
    const buffers = new BoundedBufferPool(plan.blockSize, tuning.connections * (tuning.adaptive ? MAX_IN_FLIGHT : tuning.inFlight) + 2);
    const hash = createHash('md5');
    let resumedBlocks = 0;
    try {
      resumedBlocks = await this.readAndSend(file, plan, runner, buffers, hash, tuning);
    } catch (err) {
      runner.fail(err);
    }
    // Even when reading failed, let the blocks in flight settle before the connections close.
    await runner.finish();
    return { md5: hash.digest('hex'), resumedBlocks };
  }

  /** The sequential pass: read, hash, and hand each missing block to the runner; returns the resumed count. */
  private async readAndSend(
    file: FileHandle,
    plan: UploadPlan,
    runner: TransferRunner,
    buffers: BoundedBufferPool,
    hash: Hash,
    tuning: ResolvedTuning,
  ): Promise<number> {
    let resumedBlocks = 0;
    const readBlock = async (index: number): Promise<Buffer> => {
      const buffer = buffers.tryAcquire() ?? (await buffers.acquire());
      await readFully(file, buffer.subarray(0, blockLength(plan, index)), index * plan.blockSize);
      return buffer;
    };
    let next: Promise<Buffer> | null = plan.totalBlocks > 0 ? readBlock(0) : null;
    for (let index = 0; next !== null && !runner.stopped && this.replanTo === null; index++) {
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
      if (plan.mayRegrow && this.shouldRegrow(plan)) {
        buffers.release(buffer);
        break;
      }
      await runner.start(
        async (lane) => {
          await this.sendBlock(lane, runner, plan, index, block, tuning);
          if (!tuning.adaptive) return;
          this.inFlight = this.estimator.inFlight(plan.blockSize);
          runner.setInFlight(this.inFlight);
        },
        () => buffers.release(buffer),
      );
    }
    // Stopped early: the read ahead still owns a buffer; let it finish quietly.
    await next?.catch(() => undefined);
    return resumedBlocks;
  }

  /** True (and replanTo set) when the link measured so far calls for much larger blocks than the plan's. */
  private shouldRegrow(plan: UploadPlan): boolean {
    if (!mayReplace(plan, this.ackedBytes)) {
      plan.mayRegrow = false;
      return false;
    }
    this.replanTo = regrownBlockSize(plan, this.estimator.blockSize());
    return this.replanTo !== null;
  }

  /**
   * A block failed on the network: while replacing the plan loses little, ask for one with
   * smaller blocks (a slow or flaky link moves small frames where large ones break); otherwise
   * keep the plan and let the retries go on.
   */
  private shrinkAfterNetworkFailure(plan: UploadPlan): void {
    if (this.replanTo === null && mayReplace(plan, this.ackedBytes)) this.replanTo = shrunkBlockSize(plan);
  }

  private async sendBlock(
    lane: ConnectionLane,
    runner: TransferRunner,
    plan: UploadPlan,
    index: number,
    block: Buffer,
    tuning: ResolvedTuning,
  ): Promise<void> {
    const sent = await withRetry(
      tuning.retry,
      this.clock,
      async () => {
        // Another block failed for good, or a new plan is coming: stop spending requests on this pass.
        if (runner.stopped || this.replanTo !== null) return false;
        const connection = await lane.connection();
        // Backpressure: do not queue more block bytes while the socket has not drained.
        await connection.writable();
        try {
          const json = { key: this.request.key, block_index: index };
          const reply = await this.client.call(StepType.FILE, StepOperation.UPLOAD, json, block, connection);
          // The reply to the block that completes the file carries its MD5 (docs/protocol.md §6).
          if (typeof reply.json.md5 === 'string') this.serverMd5 = reply.json.md5;
        } catch (err) {
          // A retried block can land after the file completed (its first reply was lost): done.
          if (!(hasStatus(err, StepStatus.OPERATION_NOT_ALLOWED) && isCompletelyUploadedMessage(err.statusMessage))) throw err;
        }
        return true;
      },
      (err) => {
        if (err instanceof StepConnectionError) this.shrinkAfterNetworkFailure(plan);
      },
    );
    if (!sent) return;
    this.clock.touch();
    this.estimator.recordBytes(block.length);
    this.ackedBytes += block.length;
    this.advance(block.length, plan.size);
  }

  private advance(bytes: number, total: number): void {
    this.doneBytes += bytes;
    this.request.onProgress?.({ doneBytes: this.doneBytes, totalBytes: total });
  }
}

/** Convenience wrapper: uploads one file with a logged-in (or not yet logged-in) client. */
export function uploadFile(client: StepClient, request: UploadRequest): Promise<UploadResult> {
  return new UploadEngine(client, request).run();
}
