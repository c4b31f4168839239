import { Command, Option } from 'nest-commander';
import { StepOperation, StepType } from '../transport/step.constants.js';
import { parseInteger } from './cli.config.js';
import { CliOutputService } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';
import { stringOption } from './transfer-options.js';

/** Largest `--limit` the CLI passes on. */
export const MAX_LIST_LIMIT = 100_000;

/** The `prefix`/`limit` fields of a LIST request from `--prefix`/`--limit`. */
export function listFields(options: Record<string, string | boolean | undefined>): Record<string, string | number> {
  const prefix = stringOption(options.prefix);
  const limit = parseInteger('--limit', stringOption(options.limit), 1, MAX_LIST_LIMIT);
  return { ...(prefix === undefined ? {} : { prefix }), ...(limit === undefined ? {} : { limit }) };
}

/** `step ls [--prefix P]`: the user's completed files (LIST, spec C3). */
@Command({ name: 'ls', description: 'list your completed files' })
export class LsCommand extends StepCommand {
  protected readonly label = 'ls';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, _params: string[], options: Record<string, string | boolean | undefined>): Promise<void> {
    const { json } = await context.client().call(StepType.FILE, StepOperation.LIST, listFields(options));
    const files = Array.isArray(json.files) ? (json.files as Array<Record<string, unknown>>) : [];
    const text = files.map((f) => `${String(f.size)}\t${String(f.md5)}\t${String(f.created_at)}\t${String(f.key)}`).join('\n');
    context.print({ files }, text);
  }

  @Option({ flags: '--prefix <prefix>', description: 'only keys starting with this' })
  prefix(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: 'at most this many entries' })
  limit(value: string): string {
    return value;
  }
}
