import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { SessionEntity } from '../auth/session.entity.js';
import { FilesService } from '../files/files.service.js';
import { UserEntity } from '../users/user.entity.js';

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
export class FilesAdminService {
  constructor(
    private readonly files: FilesService,
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectRepository(UserEntity) private readonly accounts: Repository<UserEntity>,
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
  async listFiles(username: string, prefix?: string, limit?: number): Promise<FileView[]> {
    const files = this.files.listFiles(username, { prefix, limit });
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
    if (await this.accounts.existsBy({ name: username })) return true;
    if (await this.sessions.existsBy({ username })) return true;
    return (await this.files.listUploadsInProgress()).some((u) => u.username === username);
  }
}
