import { Command } from 'nest-commander';
import { CliOutputService } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step login`: logs in, keeps the token for later commands and prints it. */
@Command({ name: 'login', description: 'log in; later commands reuse the session until it expires (step logout ends it)' })
export class LoginCommand extends StepCommand {
  protected readonly label = 'login';
  // A fresh session: an old stored token must not stand in for checking the password.
  protected override readonly useStoredToken = false;

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext): Promise<void> {
    const client = context.client();
    const token = await client.login();
    const { settings } = context;
    const store = this.credentials.tokens(settings);
    await store.set(this.credentials.server(settings), client.options.username, token);
    context.print({ user: client.options.username, token, stored_in: store.file }, token);
  }
}
