import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { DownloadState } from './download-state.js';

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
