import { Command } from 'nest-commander';
import { StepOperation, StepType } from '../protocol/index.js';
import { CliOutputService } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step delete KEY`: deletes a file (or cancels its unfinished upload). */
@Command({ name: 'delete', arguments: '<key>', description: 'delete a file or cancel its upload' })
export class DeleteCommand extends StepCommand {
  protected readonly label = 'delete';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext, params: string[]): Promise<void> {
    const key = this.argument(params, 0, 'KEY');
    await context.client().call(StepType.FILE, StepOperation.DELETE, { key });
    context.print({ key, deleted: true }, `deleted ${key}`);
  }
}
