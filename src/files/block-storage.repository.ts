import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { GroupCommit } from '../common/group-commit.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import type { BlockLease } from '../protocol/index.js';

/** Read handles kept open for downloads (a DOWNLOAD per block must not open and close the file). */
const READ_HANDLE_CACHE = 64;
/**
 * Blocks up to this size are written and read synchronously: a page-cache copy of 20 KiB takes
 * microseconds, while a thread-pool round trip costs more than that and adds two context switches
 * to every request of a client that keeps one block in flight (how old STEP clients work).
 */
const SYNC_IO_MAX_BYTES = 64 * 1024;
/** Buffer size for whole-file reads (recovery, re-hashing). */
const SCAN_BUFFER_BYTES = 4 * 1024 * 1024;

interface CachedHandle {
  handle: FileHandle;
  users: number;
  evicted: boolean;
}

/**
 * All file-system access of stored blocks and files. Names are server-chosen UUIDs: client keys
 * never reach a path. Uploads grow in `uploads/<name>.part` and are renamed into `files/<name>`
 * once complete, so a visible file is always whole.
 */
@Injectable()
export class BlockStorage implements OnModuleInit, OnModuleDestroy {
  private readonly partialDir: string;
  private readonly filesDir: string;
  private readonly readHandles = new Map<string, CachedHandle>();
  /** Partial files created whose row may not be written yet: the orphan sweep leaves them. */
  private readonly unsettled = new Set<string>();
  /**
   * The files directory, kept open for its fsyncs: opening and closing it around each one were two
   * more thread-pool round trips on every completion, and 64 uploads completing at once queue them
   * behind each other's fsyncs.
   */
  private filesDirHandle: Promise<FileHandle> | null = null;
  private readonly filesDirSync = new GroupCommit(async () => {
    this.filesDirHandle ??= open(this.filesDir, 'r');
    const handle = this.filesDirHandle;
    try {
      await (await handle).sync();
    } catch (err) {
      // Opened again next time: a failed open or fsync must not stick.
      if (this.filesDirHandle === handle) this.filesDirHandle = null;
      await handle.then((dir) => dir.close()).catch(() => undefined);
      throw err;
    }
  });

  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly pool: BlockBufferPool,
  ) {
    this.partialDir = join(config.storage.dataDir, 'uploads');
    this.filesDir = join(config.storage.dataDir, 'files');
  }

  async onModuleInit(): Promise<void> {
    await mkdir(this.partialDir, { recursive: true });
    await mkdir(this.filesDir, { recursive: true });
  }

  async onModuleDestroy(): Promise<void> {
    const dir = this.filesDirHandle;
    this.filesDirHandle = null;
    await dir?.then((handle) => handle.close()).catch(() => undefined);
    for (const cached of this.readHandles.values()) await cached.handle.close().catch(() => undefined);
    this.readHandles.clear();
  }

  /**
   * Creates (or truncates) the partial file of an upload, preallocated to its final size. The
   * name counts as unsettled (see isUnsettled) until settlePartial.
   */
  async createPartial(name: string, size: number): Promise<FileHandle> {
    this.unsettled.add(name);
    try {
      const handle = await open(this.partialPath(name), 'w+');
      try {
        await handle.truncate(size);
        return handle;
      } catch (err) {
        await handle.close();
        throw err;
      }
    } catch (err) {
      this.unsettled.delete(name);
      throw err;
    }
  }

  /** The row of a created partial file was written (or the file removed). */
  settlePartial(name: string): void {
    this.unsettled.delete(name);
  }

  /** True while a partial file was created in this process and its row is not written yet. */
  isUnsettled(name: string): boolean {
    return this.unsettled.has(name);
  }

  /** Opens an existing partial file for more blocks (after a restart). */
  openPartial(name: string): Promise<FileHandle> {
    return open(this.partialPath(name), 'r+');
  }

  /** Positional write of one block. */
  async writeBlock(handle: FileHandle, block: Buffer, offset: number): Promise<void> {
    let written = 0;
    while (written < block.length) {
      written +=
        block.length <= SYNC_IO_MAX_BYTES
          ? writeSync(handle.fd, block, written, block.length - written, offset + written)
          : (await handle.write(block, written, block.length - written, offset + written)).bytesWritten;
    }
  }

  /** Reads `length` bytes at `offset` of an open file (into `buffer` when given). */
  async readAt(handle: FileHandle, offset: number, length: number, buffer: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> {
    if (length <= SYNC_IO_MAX_BYTES) return this.readAtSync(handle, offset, length, buffer);
    for (let read = 0; read < length;) {
      const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
      if (bytesRead === 0) throw new Error(`unexpected end of file at ${offset + read}`);
      read += bytesRead;
    }
    return buffer;
  }

  /**
   * Reads `length` bytes at `offset` synchronously, into `buffer`. For small blocks (see
   * SYNC_IO_MAX_BYTES) and for blocks just written (a page-cache copy) whose reader must not
   * queue behind the thread pool.
   */
  readAtSync(handle: FileHandle, offset: number, length: number, buffer: Buffer): Buffer {
    for (let read = 0; read < length;) {
      const bytesRead = readSync(handle.fd, buffer, read, length - read, offset + read);
      if (bytesRead === 0) throw new Error(`unexpected end of file at ${offset + read}`);
      read += bytesRead;
    }
    return buffer;
  }

  /** Flushes a partial file's data to disk (before a completion is acknowledged). */
  async sync(handle: FileHandle): Promise<void> {
    await handle.datasync();
  }

  /** Atomically moves a complete upload into the visible files. */
  async promote(name: string): Promise<void> {
    await rename(this.partialPath(name), this.filePath(name));
    // Make the rename itself durable. Uploads completing together share one fsync of the
    // directory: each forces a journal commit, and 64 at once took over a second here.
    await this.filesDirSync.run();
  }

  /**
   * Reads one block of a complete file, through a small cache of open handles, into a pooled
   * buffer; the caller owns the lease (a DOWNLOAD reply hands it to the transport, which
   * releases it once the socket has written it).
   */
  async readFileBlock(name: string, offset: number, length: number): Promise<BlockLease> {
    const cached = await this.acquireReadHandle(name);
    try {
      const block = this.pool.acquire(length);
      try {
        await this.readAt(cached.handle, offset, length, block.buffer);
        return block;
      } catch (err) {
        block.release();
        throw err;
      }
    } finally {
      cached.users--;
      if (cached.evicted && cached.users === 0) await cached.handle.close().catch(() => undefined);
    }
  }

  /** MD5 of the first `size` bytes of a partial (`complete` false) or complete file. */
  async hashFile(name: string, size: number, complete: boolean): Promise<string> {
    const handle = await open(complete ? this.filePath(name) : this.partialPath(name), 'r');
    try {
      const hash = createHash('md5');
      const buffer = Buffer.allocUnsafe(Math.min(SCAN_BUFFER_BYTES, Math.max(size, 1)));
      for (let offset = 0; offset < size;) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - offset), offset);
        if (bytesRead === 0) throw new Error(`unexpected end of file at ${offset}`);
        hash.update(buffer.subarray(0, bytesRead));
        offset += bytesRead;
      }
      return hash.digest('hex');
    } finally {
      await handle.close();
    }
  }

  /** Whether the partial / complete file exists. */
  async exists(name: string, complete: boolean): Promise<boolean> {
    try {
      await stat(complete ? this.filePath(name) : this.partialPath(name));
      return true;
    } catch {
      return false;
    }
  }

  /** Removes a partial file (missing is fine). */
  async removePartial(name: string): Promise<void> {
    await rm(this.partialPath(name), { force: true });
  }

  /** Removes a complete file (missing is fine). */
  async removeFile(name: string): Promise<void> {
    this.evictReadHandle(name);
    await rm(this.filePath(name), { force: true });
  }

  /** Names and modification times of every partial and complete file on disk. */
  async listStored(): Promise<{ partials: Array<{ name: string; mtimeMs: number }>; files: Array<{ name: string; mtimeMs: number }> }> {
    const scan = async (dir: string, suffix: string) => {
      const out: Array<{ name: string; mtimeMs: number }> = [];
      for (const entry of await readdir(dir)) {
        if (!entry.endsWith(suffix)) continue;
        const info = await stat(join(dir, entry)).catch(() => null);
        if (info) out.push({ name: entry.slice(0, entry.length - suffix.length), mtimeMs: info.mtimeMs });
      }
      return out;
    };
    return { partials: await scan(this.partialDir, '.part'), files: await scan(this.filesDir, '') };
  }

  /** Free bytes on the data dir's file system (for the plan check and health). */
  async freeBytes(): Promise<number> {
    const fs = await statfs(this.config.storage.dataDir);
    return fs.bavail * fs.bsize;
  }

  private partialPath(name: string): string {
    return join(this.partialDir, `${name}.part`);
  }

  private filePath(name: string): string {
    return join(this.filesDir, name);
  }

  private async acquireReadHandle(name: string): Promise<CachedHandle> {
    let cached = this.readHandles.get(name);
    if (!cached) {
      const handle = await open(this.filePath(name), 'r');
      // Another request may have opened it meanwhile: keep one, close the other.
      const raced = this.readHandles.get(name);
      if (raced) {
        await handle.close();
        cached = raced;
      } else {
        cached = { handle, users: 0, evicted: false };
        this.readHandles.set(name, cached);
        if (this.readHandles.size > READ_HANDLE_CACHE) this.evictReadHandle(this.readHandles.keys().next().value!);
      }
    }
    cached.users++;
    return cached;
  }

  private evictReadHandle(name: string): void {
    const cached = this.readHandles.get(name);
    if (!cached) return;
    this.readHandles.delete(name);
    cached.evicted = true;
    if (cached.users === 0) void cached.handle.close().catch(() => undefined);
  }
}
