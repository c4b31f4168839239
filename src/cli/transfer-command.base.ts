import { Option } from 'nest-commander';
import { StepCommand } from './step-command.base.js';

/** Base of `upload` and `download`: the tuning options both transfers take. */
export abstract class TransferCommand extends StepCommand {
  @Option({ flags: '--connections <n>', description: 'parallel connections (default 4)' })
  connections(value: string): string {
    return value;
  }

  @Option({ flags: '--block-size <bytes>', description: 'block size to ask for (default 4 MiB; the server may grant less)' })
  blockSize(value: string): string {
    return value;
  }
}

/** Three decimals are plenty for seconds in output. */
export function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
