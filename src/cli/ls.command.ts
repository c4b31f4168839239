import { Command, Option } from 'nest-commander';
import { StepOperation, StepType } from '../protocol/index.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import { listAll, MAX_LIST_LIMIT, parseListLimit, type ListOptions } from './list-options.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step ls` options, parsed. */
export interface LsOptions extends ListOptions {
  bytes?: boolean;
  incomplete?: boolean;
}

type Entry = Record<string, unknown>;

/** `step ls [--prefix P] [--incomplete]`: the user's files, or unfinished uploads (LIST, docs/protocol.md §7). */
@Command({ name: 'ls', description: 'list your completed files (or unfinished uploads with --incomplete), all of them page by page' })
export class LsCommand extends StepCommand<LsOptions> {
  protected readonly label = 'ls';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, _params: string[], options: LsOptions): Promise<void> {
    const size = (entry: Entry) => (options.bytes ? String(entry.size) : formatBytes(Number(entry.size)));
    const line = options.incomplete
      ? (f: Entry) => `${size(f)}\t${String(f.received_count)}/${String(f.total_block)} blocks\t${String(f.updated_at)}\t${String(f.key)}`
      : (f: Entry) => `${size(f)}\t${String(f.md5)}\t${String(f.created_at)}\t${String(f.key)}`;
    const files: Entry[] = [];
    const paging = {
      type: StepType.FILE,
      operation: StepOperation.LIST as const,
      fields: options.incomplete ? { incomplete: true } : {},
      entries: (json: Entry) => (Array.isArray(json.files) ? (json.files as Entry[]) : []),
      key: (entry: Entry) => String(entry.key),
    };
    await listAll(context.client(), options, paging, (page) => {
      // Text streams page by page; --json prints one object at the end.
      if (context.settings.json) files.push(...page);
      else context.print({}, page.map(line).join('\n'));
    });
    if (context.settings.json) context.print({ files }, '');
  }

  @Option({ flags: '--prefix <prefix>', description: 'only keys starting with this' })
  prefix(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: `at most this many entries (1-${MAX_LIST_LIMIT}; default: all)` })
  limit(value: string): number {
    return parseListLimit(value);
  }

  @Option({ flags: '--bytes', description: 'sizes in bytes instead of KiB/MiB/GiB' })
  bytes(): boolean {
    return true;
  }

  @Option({ flags: '--incomplete', description: 'list unfinished uploads (resumable: step status KEY, or upload again)' })
  incomplete(): boolean {
    return true;
  }
}
