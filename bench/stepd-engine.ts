import { downloadFile, type DownloadResult } from '../src/client/download.engine.js';
import { StepClient } from '../src/client/step-client.js';
import { uploadFile, type UploadResult } from '../src/client/upload.engine.js';

/** Where the stepd server is and who the bench logs in as. */
export interface StepdTarget {
  host: string;
  port: number;
  user: string;
}

/** How the bench drives stepd's client, for the report's `engine` field. */
export const STEPD_ENGINE = 'src/client UploadEngine/DownloadEngine in-process, CLI defaults';

/** The bench's clients wait long: 64 uploads at once on two shared cores are slow, not dead. */
const CLIENT_TIMEOUT_MS = 120_000;

/**
 * Uploads a file under `key` with the `step` CLI's engine and default settings (adaptive block
 * size and depth), one logged-in client per transfer; resolves once the MD5 is verified on both
 * ends. The bench times the whole call (connect, LOGIN, plan, blocks, verification), as it does
 * for the baseline.
 */
export function stepdUpload(target: StepdTarget, file: string, key: string): Promise<UploadResult> {
  return withClient(target, async (client) => {
    const result = await uploadFile(client, { path: file, key });
    if (!result.verified) throw new Error(`stepd upload of ${key}: md5 not verified (client ${result.md5}, server ${result.serverMd5})`);
    return result;
  });
}

/** Downloads `key` into `output` with the CLI's engine and defaults; resolves once its MD5 is verified. */
export function stepdDownload(target: StepdTarget, key: string, output: string): Promise<DownloadResult> {
  return withClient(target, async (client) => {
    const result = await downloadFile(client, { key, out: output });
    if (!result.verified) throw new Error(`stepd download of ${key}: md5 not verified`);
    return result;
  });
}

async function withClient<T>(target: StepdTarget, work: (client: StepClient) => Promise<T>): Promise<T> {
  const client = new StepClient({ host: target.host, port: target.port, username: target.user, timeoutMs: CLIENT_TIMEOUT_MS });
  try {
    return await work(client);
  } finally {
    client.close();
  }
}
