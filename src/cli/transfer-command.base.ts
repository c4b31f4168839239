import { Option } from 'nest-commander';
import type { TransferResult } from '../client/transfer.types.js';
import { formatBytes } from './cli-output.service.js';
import { StepCommand } from './step-command.base.js';

/** Base of `upload` and `download`: the tuning options both transfers take. */
export abstract class TransferCommand extends StepCommand {
  @Option({ flags: '--connections <n>', description: 'parallel connections (default 4; 8 against an old server)' })
  connections(value: string): string {
    return value;
  }

  @Option({ flags: '--block-size <bytes>', description: 'block size to ask for (default: adaptive, 32 KiB growing to 4 MiB as the link allows; the server may grant less)' })
  blockSize(value: string): string {
    return value;
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
