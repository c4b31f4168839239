import { basename } from 'node:path';
import { Command, Option } from 'nest-commander';
import { uploadFile } from '../client/upload.engine.js';
import { OperationError } from './cli-errors.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import type { CommandContext } from './step-command.base.js';
import { TransferCommand, transferJson, transferTiming } from './transfer-command.base.js';
import { stringOption, transferTuning } from './transfer-options.js';

/** `step upload FILE`: parallel, resumable upload with MD5 verification. */
@Command({
  name: 'upload',
  arguments: '<file>',
  description: 'upload a file (resumes an interrupted upload of the same key)',
})
export class UploadCommand extends TransferCommand {
  protected readonly label = 'upload';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[], options: Record<string, string | boolean | undefined>): Promise<void> {
    const path = this.argument(params, 0, 'FILE');
    const key = stringOption(options.key) ?? basename(path);
    const tuning = transferTuning(options, context.settings);
    const progress = this.output.progress('upload');
    const result = await uploadFile(context.client(), { path, key, ...tuning, onProgress: (p) => progress.update(p) }).finally(() => progress.stop());
    const resumed = result.resumedBlocks > 0 ? `, ${result.resumedBlocks}/${result.totalBlocks} blocks already on the server` : '';
    context.print(
      transferJson(result),
      `${result.key}  ${formatBytes(result.size)}  md5 ${result.md5}  ${result.verified ? 'verified' : 'NOT VERIFIED'}${resumed}  ${transferTiming(result)}`,
    );
    if (!result.verified) {
      // Resumed blocks came from an earlier run: the file changed since, or the key held another file.
      const hint = result.resumedBlocks > 0 ? ' (blocks kept from an earlier upload differ; `step delete` the key and upload again)' : '';
      throw new OperationError(`md5 mismatch: local ${result.md5}, server ${result.serverMd5 ?? 'reported none'}${hint}`);
    }
  }

  @Option({ flags: '--key <key>', description: "key to store the file under (default: the file's base name)" })
  key(value: string): string {
    return value;
  }
}
