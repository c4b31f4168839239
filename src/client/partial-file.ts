import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { DownloadState } from './download-state.js';

const HASH_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Opens the partial file: kept when the state lists blocks in it, else (re)created empty. Never
 * through a symlink: one planted in its place would have the download overwrite its target.
 */
export async function openPartial(path: string, state: DownloadState): Promise<FileHandle> {
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
export async function writeFully(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await file.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** One sequential pass over a finished file with a reused buffer (resume path). */
export async function hashFile(file: FileHandle, size: number): Promise<string> {
  const hash = createHash('md5');
  const buffer = Buffer.allocUnsafe(Math.min(HASH_BUFFER_BYTES, Math.max(1, size)));
  for (let position = 0; position < size;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) throw new Error('The partial file is shorter than planned');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}
