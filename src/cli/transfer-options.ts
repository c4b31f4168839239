import { DEFAULT_RETRY } from '../client/transfer-retry.js';
import { type TransferTuning } from '../client/transfer.types.js';
import type { CliSettings } from './cli.config.js';

/** Most connections one transfer may open. */
export const MAX_CONNECTIONS = 64;
/** Smallest block size worth asking for. */
export const MIN_BLOCK_SIZE = 512;

/** The tuning options upload and download share, as their `@Option` methods parsed them. */
export interface TransferOptions {
  connections?: number;
  blockSize?: number;
  /** False with `--no-progress`. */
  progress?: boolean;
}

/** Transfer tuning from the parsed options; a transfer gives up once no block succeeded for `--timeout`. */
export function transferTuning(options: TransferOptions, settings: CliSettings): TransferTuning {
  return {
    retry: { ...DEFAULT_RETRY, stallMs: settings.timeoutMs },
    connections: options.connections ?? settings.connections,
    blockSize: options.blockSize ?? settings.blockSize,
  };
}
