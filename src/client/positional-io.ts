import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const HASH_BUFFER_BYTES = 4 * 1024 * 1024;

/** Positional read of exactly `target.length` bytes (a read may return fewer). */
export async function readFully(file: FileHandle, target: Buffer, position: number): Promise<void> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await file.read(target, filled, target.length - filled, position + filled);
    if (bytesRead === 0) throw new Error('The file shrank while it was being uploaded');
    filled += bytesRead;
  }
}

/** Positional write of the whole buffer (a write may take fewer bytes). */
export async function writeFully(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await file.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** MD5 of the first `size` bytes of a file, in one sequential pass with a reused buffer. */
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
