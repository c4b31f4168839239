import { Option } from 'nest-commander';
import { MAX_ACCEPTED_BLOCK_SIZE, type TransferResult } from '../client/transfer.types.js';
import { parseInteger, parseSize } from './option-parsers.js';
import { formatBytes } from './cli-output.service.js';
import { StepCommand } from './step-command.base.js';
import { MAX_CONNECTIONS, MIN_BLOCK_SIZE, type TransferOptions } from './transfer-options.js';

/** Base of `upload` and `download`: the tuning options both transfers take. */
export abstract class TransferCommand<O extends TransferOptions> extends StepCommand<O> {
  @Option({ flags: '--connections <n>', description: 'parallel connections (default 4; 8 against an old server)' })
  connections(value: string): number {
    return parseInteger('--connections', value, 1, MAX_CONNECTIONS);
  }

  @Option({
    flags: '--block-size <size>',
    description:
      'block size to ask for, e.g. 4MiB or 65536 (default: adaptive, 32 KiB growing to 4 MiB as the link allows; the server may grant less)',
  })
  blockSize(value: string): number {
    return parseSize('--block-size', value, MIN_BLOCK_SIZE, MAX_ACCEPTED_BLOCK_SIZE);
  }

  @Option({ flags: '--no-progress', description: 'no progress bar (errors and the result are still printed)' })
  progress(): boolean {
    return false;
  }
}

/** Three decimals are plenty for seconds in output. */
export function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The `--json` fields every transfer prints (a command adds its own). */
export function transferJson(result: TransferResult): Record<string, unknown> {
  return {
    key: result.key,
    size: result.size,
    md5: result.md5,
    verified: result.verified,
    resumed_blocks: result.resumedBlocks,
    seconds: round(result.seconds),
    bytes_per_second: Math.round(result.bytesPerSecond),
  };
}

/** The end of a transfer's summary line: `(1.234 s, 180 MB/s)`. */
export function transferTiming(result: TransferResult): string {
  return `(${round(result.seconds)} s, ${formatBytes(result.bytesPerSecond)}/s)`;
}
