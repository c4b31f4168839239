import { basename } from 'node:path';
import { Command, Option } from 'nest-commander';
import { downloadFile } from '../client/download.engine.js';
import { UsageError } from './cli-errors.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import type { CommandContext } from './step-command.base.js';
import { TransferCommand, transferJson, transferTiming } from './transfer-command.base.js';
import { stringOption, transferTuning } from './transfer-options.js';

/** `step download KEY [-o PATH]`: parallel, verified, resumable download. */
@Command({ name: 'download', arguments: '<key>', description: 'download a key into a file (resumes an interrupted download)' })
export class DownloadCommand extends TransferCommand {
  protected readonly label = 'download';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[], options: Record<string, string | boolean | undefined>): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    const out = stringOption(options.output) ?? basename(key);
    if (out === '' || out === '.' || out === '..') throw new UsageError(`cannot derive a file name from key "${key}": pass -o PATH`);
    const tuning = transferTuning(options, context.settings);
    const progress = this.output.progress('download');
    const result = await downloadFile(context.client(), { key, out, ...tuning, onProgress: (p) => progress.update(p) }).finally(() => progress.stop());
    context.print({ ...transferJson(result), path: result.path }, `${result.path}  ${formatBytes(result.size)}  md5 ${result.md5}  verified  ${transferTiming(result)}`);
  }

  @Option({ flags: '-o, --output <path>', description: "where to write the file (default: the key's base name)" })
  outputPath(value: string): string {
    return value;
  }
}
