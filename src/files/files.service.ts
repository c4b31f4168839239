import { Injectable } from '@nestjs/common';
import { StoredFilesService } from './stored-files.service.js';
import { UploadLedger, type FileListing } from './upload-ledger.repository.js';
import { UploadsService, type UploadStats } from './uploads.service.js';

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

/** What the operations surface (admin API, metrics) may ask of FILE storage. */
@Injectable()
export class FilesService {
  constructor(
    private readonly uploads: UploadsService,
    private readonly files: StoredFilesService,
    private readonly ledger: UploadLedger,
  ) {}

  /** Uploads not yet complete, most recently active first. */
  async listUploadsInProgress(): Promise<UploadInProgress[]> {
    const rows = await this.uploads.listInProgress();
    return rows.map((r) => ({
      username: r.username,
      key: r.key,
      size: r.size,
      blockSize: r.blockSize,
      totalBlock: r.totalBlock,
      receivedCount: r.receivedCount,
      state: r.state,
      lastActivityAt: r.updatedAt,
    }));
  }

  /** A user's complete files. */
  listFiles(username: string, options: { prefix?: string; limit?: number } = {}): FileListing[] {
    return this.files.listFiles(username, options.prefix, options.limit);
  }

  /** Cancels an unfinished upload; false when there is none. */
  cancelUpload(username: string, key: string): Promise<boolean> {
    return this.uploads.cancel(username, key);
  }

  /** Deletes a complete file (or cancels an upload); false when the key does not exist. */
  deleteFile(username: string, key: string): Promise<boolean> {
    return this.files.deleteKey(username, key);
  }

  /** Bytes of complete files plus the reserved size of uploads in progress. */
  storageBytesUsed(): number {
    return this.ledger.bytesUsed();
  }

  /** Number of uploads not yet complete (one indexed COUNT, for the metrics scrape). */
  countUploadsInProgress(): number {
    return this.ledger.countInProgress();
  }

  /** Upload counters since start, and how many uploads are open in memory. */
  uploadStats(): UploadStats & { active: number } {
    return { ...this.uploads.stats, active: this.uploads.activeCount };
  }
}
