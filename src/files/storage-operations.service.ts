import { Injectable } from '@nestjs/common';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { FileCatalogService } from './file-catalog.service.js';
import { UploadCounters, type UploadStats } from './upload-counters.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadListings, type FileListing, type StorageTotals } from './upload-listings.repository.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/** An upload in progress as operators see it. */
export interface UploadInProgress {
  username: string;
  key: string;
  size: number;
  blockSize: number;
  totalBlock: number;
  receivedCount: number;
  state: string;
  lastActivityAt: number;
}

/** What the operations surface (admin API, metrics) may ask of FILE storage and do to it. */
@Injectable()
export class StorageOperationsService {
  constructor(
    private readonly uploads: UploadReceiverService,
    private readonly catalog: FileCatalogService,
    private readonly ledger: UploadLedger,
    private readonly registry: ActiveUploadRegistry,
    private readonly counters: UploadCounters,
    private readonly listings: UploadListings,
  ) {}

  /** Uploads not yet complete, most recently active first (counts of uploads in memory are exact). */
  async listUploadsInProgress(): Promise<UploadInProgress[]> {
    const rows = await this.ledger.listUnfinished();
    return rows.map((r) => {
      const live = this.registry.get(r.username, r.key);
      return {
        username: r.username,
        key: r.key,
        size: r.size,
        blockSize: r.blockSize,
        totalBlock: r.totalBlock,
        receivedCount: live?.id === r.id ? live.bitmap.count : r.receivedCount,
        state: r.state,
        lastActivityAt: r.updatedAt,
      };
    });
  }

  /** A user's complete files. */
  listFiles(username: string, options: { prefix?: string; limit?: number } = {}): Promise<FileListing[]> {
    return this.catalog.listFiles(username, options.prefix, options.limit);
  }

  /** Cancels an unfinished upload; false when there is none. */
  cancelUpload(username: string, key: string): Promise<boolean> {
    return this.uploads.cancel(username, key);
  }

  /** Deletes a complete file (or cancels an upload); false when the key does not exist. */
  deleteFile(username: string, key: string): Promise<boolean> {
    return this.catalog.deleteKey(username, key);
  }

  /** Bytes of complete files plus the reserved size of uploads in progress, and uploads not yet complete. */
  storageTotals(): Promise<StorageTotals> {
    return this.listings.totals();
  }

  /** Upload counters since start, and how many uploads are open in memory. */
  uploadStats(): UploadStats & { active: number } {
    const { started, completed, failed } = this.counters;
    return { started, completed, failed, active: this.registry.size };
  }
}
