import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { BlockPlan } from './transfer.types.js';

/** What the sidecar file of a partial download remembers. */
interface DownloadStateFile {
  version: 1;
  key: string;
  size: number;
  blockSize: number;
  md5: string;
  /** Bitmap of received blocks, base64. */
  received: string;
}

/**
 * The sidecar of `<out>.step-partial`: which blocks are already written, for the plan they
 * belong to. Saved atomically (write + rename) and only after the blocks it lists were written.
 */
export class DownloadState {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly identity: Omit<DownloadStateFile, 'received' | 'version'>,
    readonly received: Uint8Array,
  ) {}

  /** Loads the state for this plan, or a fresh one when there is none or it belongs to another plan. */
  static async load(path: string, key: string, plan: BlockPlan, md5: string): Promise<DownloadState> {
    const identity = { key, size: plan.size, blockSize: plan.blockSize, md5 };
    const fresh = new DownloadState(path, identity, new Uint8Array(plan.totalBlocks));
    let saved: Partial<DownloadStateFile>;
    try {
      saved = JSON.parse(await readFile(path, 'utf8')) as Partial<DownloadStateFile>;
    } catch {
      return fresh;
    }
    const same =
      saved.version === 1 && saved.key === key && saved.size === plan.size && saved.blockSize === plan.blockSize && saved.md5 === md5;
    if (!same || typeof saved.received !== 'string') return fresh;
    const bitmap = Buffer.from(saved.received, 'base64');
    for (let i = 0; i < plan.totalBlocks; i++) fresh.received[i] = (bitmap[i >> 3] >> (i & 7)) & 1;
    return fresh;
  }

  /** Number of blocks already received. */
  count(): number {
    let n = 0;
    for (const bit of this.received) n += bit;
    return n;
  }

  /** Writes the state atomically; saves are chained so a timer save and the final one never race. */
  save(): Promise<void> {
    const write = () => this.write();
    this.saving = this.saving.then(write, write);
    return this.saving;
  }

  private async write(): Promise<void> {
    const bitmap = Buffer.alloc(Math.ceil(this.received.length / 8));
    for (let i = 0; i < this.received.length; i++) if (this.received[i]) bitmap[i >> 3] |= 1 << (i & 7);
    const body: DownloadStateFile = { version: 1, ...this.identity, received: bitmap.toString('base64') };
    await writeFile(`${this.path}.tmp`, JSON.stringify(body));
    await rename(`${this.path}.tmp`, this.path);
  }

  /** Removes the sidecar (after any save still running). */
  async remove(): Promise<void> {
    await this.saving.catch(() => undefined);
    await rm(this.path, { force: true });
    await rm(`${this.path}.tmp`, { force: true });
  }
}
