import { Command } from 'nest-commander';
import { StepOperation, StepType } from '../protocol/index.js';
import { CliOutputService, formatBytes } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step status KEY`: the server's view of an upload (STATUS, docs/protocol.md §6). */
@Command({ name: 'status', arguments: '<key>', description: 'show how much of an upload the server holds' })
export class StatusCommand extends StepCommand {
  protected readonly label = 'status';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[]): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    const { json } = await context.client().call(StepType.FILE, StepOperation.STATUS, { key });
    const value = {
      key: json.key ?? key,
      size: json.size,
      block_size: json.block_size,
      total_block: json.total_block,
      received_count: json.received_count,
      missing_ranges: json.missing_ranges,
      complete: json.complete,
      ...(json.md5 === undefined ? {} : { md5: json.md5 }),
    };
    const state =
      json.complete === true
        ? `complete, md5 ${String(json.md5)}`
        : `${String(json.received_count)}/${String(json.total_block)} blocks received`;
    context.print(value, `${String(value.key)}  ${formatBytes(Number(json.size))}  ${state}`);
  }
}
