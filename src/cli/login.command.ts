import { Command } from 'nest-commander';
import { CliOutputService } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step login`: logs in and prints the token. */
@Command({ name: 'login', description: 'log in and print the token' })
export class LoginCommand extends StepCommand {
  protected readonly label = 'login';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext): Promise<void> {
    const client = context.client();
    const token = await client.login();
    context.print({ user: client.options.username, token }, token);
  }
}
