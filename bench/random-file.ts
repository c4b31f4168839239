import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Writes `size` random (incompressible) bytes to `path`. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(size, 4 * 1024 * 1024)));
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(chunk.length, size - written);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
}
