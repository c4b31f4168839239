import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { md5Hex } from '../common/md5.js';
import { StepOperation, StepType } from '../transport/step.constants.js';
import { ConnectionLanes, type ConnectionLane } from './connection-lanes.js';
import { DownloadState } from './download-state.js';
import type { StepClient } from './step-client.js';
import { StepConnectionError } from './step-client.connection.js';
import { BlockIntegrityError, ProgressClock, withRetry } from './transfer-retry.js';
import { blockLength, DEFAULT_REQUESTED_BLOCK_SIZE, readBlockPlan, resolveTuning, type BlockPlan, type ResolvedTuning, type TransferResult, type TransferTuning } from './transfer.types.js';

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

/** The local MD5 differs from the server's: the download is discarded. */
export class Md5MismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`md5 mismatch: server ${expected}, local ${actual}`);
    this.name = 'Md5MismatchError';
  }
}

/** Suffix of the file a download is written into before it is verified and renamed. */
export const PARTIAL_SUFFIX = '.step-partial';
const STATE_SAVE_INTERVAL_MS = 500;
const HASH_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Downloads one key: GET the plan, fetch blocks in parallel over several pipelined connections,
 * write them positionally into `<out>.step-partial`, hash the contiguous prefix as blocks land
 * (holding a bounded window of out-of-order blocks), verify the MD5 and rename into place.
 * A sidecar state file makes an interrupted download resume.
 */
export class DownloadEngine {
  private failure: unknown = null;
  private doneBytes = 0;
  private readonly clock = new ProgressClock();
  /** Prefix hashing (null on resume, where the finished file is hashed once instead). */
  private hash: Hash | null = null;
  private nextToHash = 0;
  private readonly landed = new Map<number, Buffer>();
  private windowWaiter: (() => void) | null = null;

  constructor(
    private readonly client: StepClient,
    private readonly request: DownloadRequest,
  ) {}

  /** Runs the download to completion (or throws the reason it could not). */
  async run(): Promise<DownloadResult> {
    const started = performance.now();
    const { key, out } = this.request;
    const reply = await this.client.call(StepType.FILE, StepOperation.GET, { key, block_size: this.request.blockSize ?? DEFAULT_REQUESTED_BLOCK_SIZE });
    const plan = readBlockPlan(reply.json);
    const expectedMd5 = typeof reply.json.md5 === 'string' ? reply.json.md5.toLowerCase() : null;
    if (!expectedMd5) throw new StepConnectionError('The download plan carries no md5', 'EPROTO');
    const partial = out + PARTIAL_SUFFIX;
    const state = await DownloadState.load(`${partial}.state`, key, plan, expectedMd5);
    const file = await openPartial(partial, state);
    const resumedBlocks = state.count();
    let md5: string;
    try {
      // Nothing on disk yet: hash the prefix as blocks land. Resuming: hash the finished file once.
      if (resumedBlocks === 0) this.hash = createHash('md5');
      await file.truncate(plan.size);
      for (let i = 0; i < plan.totalBlocks; i++) if (state.received[i]) this.doneBytes += blockLength(plan, i);
      await this.transfer(file, plan, state, resolveTuning(this.request, plan.blockSize));
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
      blockSize: plan.blockSize,
      seconds,
      bytesPerSecond: seconds > 0 ? plan.size / seconds : 0,
    };
  }

  private async transfer(file: FileHandle, plan: BlockPlan, state: DownloadState, tuning: ResolvedTuning): Promise<void> {
    const lanes = new ConnectionLanes(this.client, tuning.connections, tuning.inFlight);
    // Out-of-order blocks wait in memory for the prefix hash: at most this many ahead of it.
    const window = tuning.connections * tuning.inFlight * 2;
    const fetches = new Set<Promise<void>>();
    const saver = setInterval(() => void state.save().catch(() => undefined), STATE_SAVE_INTERVAL_MS);
    try {
      for (let index = 0; index < plan.totalBlocks && this.failure === null; index++) {
        if (state.received[index]) continue;
        while (this.hash && index >= this.nextToHash + window && this.failure === null) {
          await new Promise<void>((resolve) => (this.windowWaiter = resolve));
        }
        const lane = await lanes.acquire();
        const fetch = this.fetchBlock(lane, file, plan, state, index, tuning)
          .catch((err: unknown) => {
            this.failure ??= err;
            this.wakeWindow();
          })
          .finally(() => lanes.release(lane));
        fetches.add(fetch);
        void fetch.then(() => fetches.delete(fetch));
      }
      await Promise.all(fetches);
    } finally {
      clearInterval(saver);
      this.client.close();
      await state.save();
    }
    if (this.failure !== null) throw this.failure;
  }

  private async fetchBlock(lane: ConnectionLane, file: FileHandle, plan: BlockPlan, state: DownloadState, index: number, tuning: ResolvedTuning): Promise<void> {
    const length = blockLength(plan, index);
    const block = await withRetry(tuning.retry, this.clock, async () => {
      const connection = await lane.connection();
      const reply = await this.client.call(StepType.FILE, StepOperation.DOWNLOAD, { key: this.request.key, block_index: index, block_size: plan.blockSize }, null, connection);
      const binary = reply.binary ?? Buffer.alloc(0);
      if (binary.length !== length) throw new BlockIntegrityError(`block ${index} has ${binary.length} bytes, expected ${length}`);
      // C4: when the server knows the block's MD5, check it before the block touches the file.
      const blockMd5 = reply.json.block_md5;
      if (typeof blockMd5 === 'string' && md5Hex(binary) !== blockMd5.toLowerCase()) throw new BlockIntegrityError(`block ${index} fails its block_md5`);
      return binary;
    });
    await writeFully(file, block, index * plan.blockSize);
    state.received[index] = 1;
    this.clock.touch();
    this.doneBytes += length;
    this.request.onProgress?.({ doneBytes: this.doneBytes, totalBytes: plan.size });
    if (this.hash) this.hashPrefix(index, block);
  }

  /** Hashes every block that now continues the contiguous prefix; keeps later ones until then. */
  private hashPrefix(index: number, block: Buffer): void {
    this.landed.set(index, block);
    let next = this.landed.get(this.nextToHash);
    while (next) {
      this.hash!.update(next);
      this.landed.delete(this.nextToHash);
      this.nextToHash++;
      next = this.landed.get(this.nextToHash);
    }
    this.wakeWindow();
  }

  private wakeWindow(): void {
    const waiter = this.windowWaiter;
    this.windowWaiter = null;
    waiter?.();
  }
}

/**
 * Opens the partial file: kept when the state lists blocks in it, else (re)created empty. Never
 * through a symlink: one planted in its place would have the download overwrite its target.
 */
async function openPartial(path: string, state: DownloadState): Promise<FileHandle> {
  if (state.count() > 0) {
    try {
      return await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch {
      state.received.fill(0);
    }
  }
  // rm removes a link itself, not its target; O_EXCL then refuses anything planted in between.
  await rm(path, { force: true });
  return open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
}

/** Positional write of the whole buffer (a write may take fewer bytes). */
async function writeFully(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await file.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** One sequential pass over a finished file with a reused buffer (resume path). */
async function hashFile(file: FileHandle, size: number): Promise<string> {
  const hash = createHash('md5');
  const buffer = Buffer.allocUnsafe(Math.min(HASH_BUFFER_BYTES, Math.max(1, size)));
  for (let position = 0; position < size; ) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) throw new Error('The partial file is shorter than planned');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/** Convenience wrapper: downloads one key. */
export function downloadFile(client: StepClient, request: DownloadRequest): Promise<DownloadResult> {
  return new DownloadEngine(client, request).run();
}
