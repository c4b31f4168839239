import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { StepOperation, StepType } from '../protocol/index.js';
import { ExitCode } from '../common/exit-code.js';
import { UsageError } from './cli-errors.js';
import { CliOutputService } from './cli-output.service.js';
import { listAll, MAX_LIST_LIMIT, parseListLimit, type ListOptions } from './list-options.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** Fields the protocol owns: a DATA record cannot carry them as its own values. */
const RESERVED_FIELDS = new Set(['type', 'operation', 'direction', 'status', 'status_msg', 'token', 'key', 'username', 'password']);
/** Largest record the CLI sends (the server's JSON limit is 64 KiB by default). */
const MAX_RECORD_CHARS = 60 * 1024;

/** Parses the JSON argument of `data put`: one object without protocol fields. */
export function parseRecord(text: string): Record<string, unknown> {
  if (text.length > MAX_RECORD_CHARS) throw new UsageError(`JSON is longer than ${MAX_RECORD_CHARS} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('JSON is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('JSON has to be a JSON object');
  const reserved = Object.keys(value).filter((name) => RESERVED_FIELDS.has(name));
  if (reserved.length > 0) throw new UsageError(`JSON may not contain the protocol field(s) ${reserved.join(', ')}`);
  return value as Record<string, unknown>;
}

/** The user's fields of a DATA GET reply (everything but the protocol's own fields). */
export function recordFields(reply: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(reply).filter(([name]) => !RESERVED_FIELDS.has(name)));
}

/** `step data put KEY JSON`. */
@SubCommand({ name: 'put', arguments: '<key> <json>', description: 'store a JSON object under KEY' })
export class DataPutCommand extends StepCommand {
  protected readonly label = 'data put';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[]): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    const record = parseRecord(this.argument(params, 1, 'JSON'));
    const { json } = await context.client().call(StepType.DATA, StepOperation.SAVE, { ...record, key });
    context.print({ key: json.key ?? key }, `saved ${String(json.key ?? key)}`);
  }
}

/** `step data get KEY`. */
@SubCommand({ name: 'get', arguments: '<key>', description: 'print the JSON object stored under KEY' })
export class DataGetCommand extends StepCommand {
  protected readonly label = 'data get';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[]): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    const { json } = await context.client().call(StepType.DATA, StepOperation.GET, { key });
    const value = recordFields(json);
    context.print({ key, value }, JSON.stringify(value, null, 2));
  }
}

/** `step data delete KEY`. */
@SubCommand({ name: 'delete', arguments: '<key>', description: 'delete the record stored under KEY' })
export class DataDeleteCommand extends StepCommand {
  protected readonly label = 'data delete';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[]): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    await context.client().call(StepType.DATA, StepOperation.DELETE, { key });
    context.print({ key, deleted: true }, `deleted ${key}`);
  }
}

/** `step data ls`. */
@SubCommand({ name: 'ls', description: 'list your record keys' })
export class DataLsCommand extends StepCommand<ListOptions> {
  protected readonly label = 'data ls';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, _params: string[], options: ListOptions): Promise<void> {
    const keys: string[] = [];
    const paging = {
      type: StepType.DATA,
      operation: StepOperation.LIST as const,
      entries: (json: Record<string, unknown>) => (Array.isArray(json.keys) ? json.keys.map(String) : []),
      key: (entry: string) => entry,
    };
    await listAll(context.client(), options, paging, (page) => {
      if (context.settings.json) keys.push(...page);
      else context.print({}, page.join('\n'));
    });
    if (context.settings.json) context.print({ keys }, '');
  }

  @Option({ flags: '--prefix <prefix>', description: 'only keys starting with this' })
  prefix(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: `at most this many keys (1-${MAX_LIST_LIMIT})` })
  limit(value: string): number {
    return parseListLimit(value);
  }
}

/** `step data ...`: small JSON records (type DATA). */
@Command({
  name: 'data',
  description: 'small JSON records',
  subCommands: [DataPutCommand, DataGetCommand, DataDeleteCommand, DataLsCommand],
})
export class DataCommand extends CommandRunner {
  /** `step data` without a sub-command: help and exit 2. */
  async run(params: string[]): Promise<void> {
    process.stderr.write(params.length > 0 ? `step: unknown data command "${params[0]}"\n` : 'step: missing data command\n');
    process.stderr.write(this.command.helpInformation());
    process.exitCode = ExitCode.USAGE;
    await Promise.resolve();
  }
}
