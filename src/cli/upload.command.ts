import { Command, Option } from 'nest-commander';
import { hasStatus, StepStatusError } from '../client/step-client.js';
import { uploadFile, type UploadResult } from '../client/upload.engine.js';
import { ExitCode } from '../common/exit-code.js';
import { StepStatus } from '../protocol/index.js';
import { OperationError, UsageError } from './cli-errors.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import type { CommandContext } from './step-command.base.js';
import { TransferCommand, transferJson, transferTiming } from './transfer-command.base.js';
import { transferTuning, type TransferOptions } from './transfer-options.js';
import { collectUploads, spoolStdin, STDIN_PATH, type UploadSource } from './upload-sources.js';

/** `step upload` options, parsed. */
export interface UploadOptions extends TransferOptions {
  key?: string;
  prefix?: string;
  recursive?: boolean;
  force?: boolean;
}

/** `step upload FILE... | -r DIR | -`: parallel, resumable uploads with MD5 verification. */
@Command({
  name: 'upload',
  arguments: '[files...]',
  description: 'upload files, a tree (-r) or standard input (-); resumes an interrupted upload of the same key',
})
export class UploadCommand extends TransferCommand<UploadOptions> {
  protected readonly label = 'upload';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[], options: UploadOptions): Promise<void> {
    if (params.includes(STDIN_PATH) && context.settings.passwordStdin)
      throw new UsageError('"-" and --password-stdin both need standard input');
    const sources = await collectUploads(params, options);
    // One FILE keeps the original single-object --json output; several print {"uploads": [...]}.
    const single = sources.length === 1 && !options.recursive;
    const results: Array<Record<string, unknown>> = [];
    for (const source of sources) {
      const result = await this.uploadOne(context, source, options, single ? 'upload' : source.key);
      results.push(transferJson(result));
      if (!context.settings.json) context.print({}, this.summary(result));
    }
    if (context.settings.json) context.print(single ? results[0] : { uploads: results }, '');
  }

  private async uploadOne(context: CommandContext, source: UploadSource, options: UploadOptions, label: string): Promise<UploadResult> {
    const spooled = source.path === STDIN_PATH ? await spoolStdin() : null;
    const progress = this.output.progress(label, options.progress === false || context.settings.quiet);
    try {
      const request = {
        path: spooled?.path ?? source.path,
        key: source.key,
        replace: options.force === true,
        ...transferTuning(options, context.settings),
      };
      const result = await uploadFile(context.client(), { ...request, onProgress: (p) => progress.update(p) });
      if (!result.verified) {
        // Resumed blocks came from an earlier run: the file changed since, or the key held another file.
        const hint = result.resumedBlocks > 0 ? ' (the key holds other data; pass --force to replace it)' : '';
        throw new OperationError(
          `md5 mismatch: local ${result.md5}, server ${result.serverMd5 ?? 'reported none'}${hint}`,
          ExitCode.INTEGRITY,
        );
      }
      return result;
    } catch (err) {
      // A completed file already has this key (docs/protocol.md §6). 402 also means "size missing",
      // so the message tells the two apart.
      if (hasStatus(err, StepStatus.KEY_EXISTS) && /is existing/.test(err.statusMessage)) {
        throw new StepStatusError(StepStatus.KEY_EXISTS, `${err.statusMessage} Pass --force to replace it.`, err.operation);
      }
      throw err;
    } finally {
      progress.stop();
      await spooled?.cleanup();
    }
  }

  private summary(result: UploadResult): string {
    const resumed = result.resumedBlocks > 0 ? `, ${result.resumedBlocks}/${result.totalBlocks} blocks already on the server` : '';
    return `${result.key}  ${formatBytes(result.size)}  md5 ${result.md5}  verified${resumed}  ${transferTiming(result)}`;
  }

  @Option({ flags: '--key <key>', description: "key to store one file under (default: --prefix + the file's base name)" })
  key(value: string): string {
    return value;
  }

  @Option({ flags: '--prefix <prefix>', description: 'put keys under this prefix (with -r: prefix + path relative to DIR)' })
  prefix(value: string): string {
    return value;
  }

  @Option({ flags: '-r, --recursive', description: 'upload every file under DIR' })
  recursive(): boolean {
    return true;
  }

  @Option({ flags: '--force', description: 'replace a key that already holds a completed file' })
  force(): boolean {
    return true;
  }
}
