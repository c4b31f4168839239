import { Injectable, Logger } from '@nestjs/common';
import { setImmediate } from 'node:timers/promises';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import type { ActiveUpload } from './active-upload.js';
import { BlockStorage } from './block-storage.repository.js';

/** How long the prefix MD5 may catch up from disk before letting other requests run. */
const CATCH_UP_SLICE_MS = 25;

/**
 * Extends an upload's prefix MD5 (PrefixHasher) with blocks that arrived out of order but did not
 * fit its window: they are read back from the partial file once the prefix reaches them.
 */
@Injectable()
export class PrefixCatchUp {
  private readonly logger = new Logger('Uploads');

  constructor(
    private readonly storage: BlockStorage,
    private readonly pool: BlockBufferPool,
  ) {}

  /** Hashes every stored block the prefix can now reach; one run per upload at a time. */
  advance(upload: ActiveUpload): Promise<void> {
    if (upload.advancing) return upload.advancing;
    const run = this.readFromDisk(upload);
    upload.advancing = run;
    // Cleared only after the assignment above: the run may finish without ever awaiting.
    void run.finally(() => {
      if (upload.advancing === run) upload.advancing = null;
    });
    return run;
  }

  private async readFromDisk(upload: ActiveUpload): Promise<void> {
    const { hasher, bitmap } = upload;
    try {
      let sliceStart = performance.now();
      while (!hasher.isTainted && upload.handle && hasher.next < upload.row.totalBlock && bitmap.has(hasher.next)) {
        const index = hasher.next;
        const length = upload.blockLength(index);
        const block = this.pool.acquire(length);
        try {
          // Synchronous, so that catching up outpaces arriving blocks: a thread-pool read is
          // queued behind their writes, and the prefix then falls ever further behind (most of
          // a large upload gets read back, and its final block waits for the rest).
          hasher.feedFromDisk(this.storage.readAtSync(upload.handle, index * upload.row.blockSize, length, block.buffer));
        } finally {
          block.release();
        }
        // Other requests run between slices. One block per slice was not enough: each turn of
        // the event loop also takes in about a block, so after a stalled block the prefix never
        // caught up again.
        if (performance.now() - sliceStart >= CATCH_UP_SLICE_MS) {
          await setImmediate();
          sliceStart = performance.now();
        }
      }
    } catch (err) {
      // Reading back failed: fall back to hashing the whole file at completion.
      this.logger.warn(`prefix hash of upload ${upload.id} fell back to a full read: ${(err as Error).message}`);
      hasher.taint();
    }
  }
}
