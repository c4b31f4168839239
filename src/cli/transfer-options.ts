import { DEFAULT_RETRY } from '../client/transfer-retry.js';
import { MAX_ACCEPTED_BLOCK_SIZE, type TransferTuning } from '../client/transfer.types.js';
import { parseInteger, type CliSettings } from './cli.config.js';

/** Most connections one transfer may open. */
export const MAX_CONNECTIONS = 64;
/** Smallest block size worth asking for. */
const MIN_BLOCK_SIZE = 512;

/**
 * Reads `--connections` and `--block-size` into transfer tuning (usage errors when out of range);
 * a transfer gives up once no block succeeded for `--timeout`.
 */
export function transferTuning(options: Record<string, string | boolean | undefined>, settings: CliSettings): TransferTuning {
  return {
    retry: { ...DEFAULT_RETRY, stallMs: settings.timeoutMs },
    connections: parseInteger('--connections', stringOption(options.connections), 1, MAX_CONNECTIONS),
    blockSize: parseInteger('--block-size', stringOption(options.blockSize), MIN_BLOCK_SIZE, MAX_ACCEPTED_BLOCK_SIZE),
  };
}

/** A string option, or undefined when absent. */
export function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
