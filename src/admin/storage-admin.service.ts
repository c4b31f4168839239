import { Injectable, NotFoundException } from '@nestjs/common';
import { ADMIN_LIST_LIMIT } from '../admin-kit/admin-list.js';
import { TokenService } from '../auth/token.service.js';
import { StorageOperationsService } from '../files/storage-operations.service.js';
import { UsersService } from '../users/users.service.js';

/** An upload in progress, as GET /admin/uploads lists it. */
export interface UploadView {
  username: string;
  key: string;
  size: number;
  blockSize: number;
  totalBlocks: number;
  receivedBlocks: number;
  /** Received blocks over total blocks, 0-100 with one decimal. */
  percent: number;
  /** ISO 8601 time of the last block or plan. */
  lastActivityAt: string;
}

/** A completed file, as GET /admin/files lists it. */
export interface FileView {
  key: string;
  size: number;
  md5: string;
  createdAt: string;
}

function percentOf(received: number, total: number): number {
  return total > 0 ? Math.floor((received / total) * 1000) / 10 : 0;
}

/** The admin API's view of FILE storage: listings for operators, cancel and delete with 404s. */
@Injectable()
export class StorageAdminService {
  constructor(
    private readonly files: StorageOperationsService,
    private readonly tokens: TokenService,
    private readonly users: UsersService,
  ) {}

  /** Every upload in progress, most recently active first. */
  async listUploads(): Promise<UploadView[]> {
    const uploads = await this.files.listUploadsInProgress();
    return uploads.map((u) => ({
      username: u.username,
      key: u.key,
      size: u.size,
      blockSize: u.blockSize,
      totalBlocks: u.totalBlock,
      receivedBlocks: u.receivedCount,
      percent: percentOf(u.receivedCount, u.totalBlock),
      lastActivityAt: new Date(u.lastActivityAt).toISOString(),
    }));
  }

  /** A user's completed files; 404 for a user stepd does not know (no account, file, upload or session). */
  async listFiles(username: string, prefix?: string, limit = ADMIN_LIST_LIMIT): Promise<FileView[]> {
    const files = await this.files.listFiles(username, { prefix, limit });
    if (files.length === 0 && !(await this.isKnownUser(username))) {
      throw new NotFoundException(`user ${username} is not known`);
    }
    return files.map((f) => ({ key: f.key, size: f.size, md5: f.md5, createdAt: f.created_at }));
  }

  /** Cancels an upload in progress and frees its blocks; 404 when there is none for this key. */
  async cancelUpload(username: string, key: string): Promise<void> {
    if (!(await this.files.cancelUpload(username, key))) {
      throw new NotFoundException(`user ${username} has no upload in progress for key ${key}`);
    }
  }

  /** Deletes a completed file; 404 when the user has no such file. */
  async deleteFile(username: string, key: string): Promise<void> {
    if (!(await this.files.deleteFile(username, key))) {
      throw new NotFoundException(`user ${username} has no file with key ${key}`);
    }
  }

  // Legacy mode has no user registry: a name is known once it logged in or stored something.
  private async isKnownUser(username: string): Promise<boolean> {
    if (await this.users.exists(username)) return true;
    if (await this.tokens.hasSessionOf(username)) return true;
    return (await this.files.listUploadsInProgress()).some((u) => u.username === username);
  }
}
