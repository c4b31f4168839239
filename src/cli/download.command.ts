import { Command, Option } from 'nest-commander';
import { downloadFile } from '../client/download.engine.js';
import { UsageError } from './cli-errors.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import { downloadTarget, STDOUT_PATH } from './download-target.js';
import type { CommandContext } from './step-command.base.js';
import { TransferCommand, transferJson, transferTiming } from './transfer-command.base.js';
import { transferTuning, type TransferOptions } from './transfer-options.js';

/** `step download` options, parsed. */
export interface DownloadOptions extends TransferOptions {
  output?: string;
  /** False with `--no-clobber`. */
  clobber?: boolean;
}

/** `step download KEY [-o PATH|DIR/|-]`: parallel, verified, resumable download. */
@Command({
  name: 'download',
  arguments: '<key>',
  description: 'download a key into a file, a directory or stdout (resumes an interrupted download)',
})
export class DownloadCommand extends TransferCommand<DownloadOptions> {
  protected readonly label = 'download';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[], options: DownloadOptions): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    if (options.output === STDOUT_PATH && context.settings.json)
      throw new UsageError('--json cannot be used with -o - (stdout carries the file)');
    const target = await downloadTarget(key, options.output, options.clobber === false);
    const progress = this.output.progress('download', options.progress === false || context.settings.quiet);
    try {
      const result = await downloadFile(context.client(), {
        key,
        out: target.path,
        ...transferTuning(options, context.settings),
        onProgress: (p) => progress.update(p),
      }).finally(() => progress.stop());
      await target.finish();
      const path = options.output === STDOUT_PATH ? STDOUT_PATH : result.path;
      // With -o - the file itself is stdout: the summary goes to stderr.
      const text = `${path}  ${formatBytes(result.size)}  md5 ${result.md5}  verified  ${transferTiming(result)}`;
      if (path === STDOUT_PATH) {
        if (!context.settings.quiet) process.stderr.write(`${text}\n`);
        return;
      }
      context.print({ ...transferJson(result), path }, text);
    } catch (err) {
      await target.cleanup();
      throw err;
    }
  }

  @Option({
    flags: '-o, --output <path>',
    description: "where to write: a file, an existing DIR/ (DIR/<base name of the key>) or - for stdout (default: the key's base name)",
  })
  outputPath(value: string): string {
    return value;
  }

  @Option({ flags: '--no-clobber', description: 'refuse to overwrite an existing local file' })
  clobber(): boolean {
    return false;
  }
}
