import { Command, Option } from 'nest-commander';
import { StepOperation, StepType } from '../transport/step.constants.js';
import { CliOutputService } from './cli-output.service.js';
import { listFields, MAX_LIST_LIMIT, parseListLimit, type ListOptions } from './list-options.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step ls [--prefix P]`: the user's completed files (LIST, spec C3). */
@Command({ name: 'ls', description: 'list your completed files' })
export class LsCommand extends StepCommand<ListOptions> {
  protected readonly label = 'ls';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, _params: string[], options: ListOptions): Promise<void> {
    const { json } = await context.client().call(StepType.FILE, StepOperation.LIST, listFields(options));
    const files = Array.isArray(json.files) ? (json.files as Array<Record<string, unknown>>) : [];
    const text = files.map((f) => `${String(f.size)}\t${String(f.md5)}\t${String(f.created_at)}\t${String(f.key)}`).join('\n');
    context.print({ files }, text);
  }

  @Option({ flags: '--prefix <prefix>', description: 'only keys starting with this' })
  prefix(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: `at most this many entries (1-${MAX_LIST_LIMIT})` })
  limit(value: string): number {
    return parseListLimit(value);
  }
}
