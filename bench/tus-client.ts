import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Upload } from 'tus-js-client';
import { md5OfFile } from './block-reader.js';

/** How the tus peer uploads. */
export interface TusUploadOptions {
  port: number;
  file: string;
  /** Where the tus server stores uploads (to hash what it stored). */
  storeDir: string;
  /** tus-js-client chunk size (one PATCH request per chunk). */
  chunkSize: number;
}

/**
 * Uploads with tus-js-client, hashing the local file alongside (tus has no MD5 of its own), then
 * hashes what the server stored: what a user does to get the same guarantee as stepd's verified
 * MD5. Resolves with the stored file's path and MD5.
 */
export async function tusUpload(options: TusUploadOptions): Promise<{ md5: string; storedPath: string }> {
  const localMd5 = md5OfFile(options.file);
  const url = await new Promise<string>((resolve, reject) => {
    const upload = new Upload(createReadStream(options.file), {
      endpoint: `http://127.0.0.1:${options.port}/files`,
      chunkSize: options.chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      metadata: { filename: 'bench' },
      onError: reject,
      onSuccess: () => resolve(upload.url!),
    });
    upload.start();
  });
  const storedPath = join(options.storeDir, url.slice(url.lastIndexOf('/') + 1));
  const [local, stored] = await Promise.all([localMd5, md5OfFile(storedPath)]);
  if (local !== stored) throw new Error(`tus md5 mismatch: client ${local}, stored ${stored}`);
  return { md5: stored, storedPath };
}
