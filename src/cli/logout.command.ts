import { Command } from 'nest-commander';
import { CliOutputService } from './cli-output.service.js';
import { StepCommand, type CommandContext } from './step-command.base.js';

/** `step logout`: revokes the stored session (LOGOUT) and forgets it. */
@Command({ name: 'logout', description: 'end the session `step login` stored and delete its token' })
export class LogoutCommand extends StepCommand {
  protected readonly label = 'logout';

  constructor(output: CliOutputService) {
    super(output);
  }

  protected async execute(context: CommandContext): Promise<void> {
    const client = context.client();
    const { settings } = context;
    const user = client.options.username;
    // No stored token: nothing to revoke (LOGOUT needs the token, and a new LOGIN just to end it is pointless).
    const revoked = client.currentToken === null ? false : await client.logout();
    const forgotten = await this.credentials.tokens(settings).remove(this.credentials.server(settings), user);
    const state = forgotten ? (revoked ? 'logged out' : 'session had already ended; token deleted') : 'not logged in';
    context.print({ user, revoked, token_deleted: forgotten }, `${user}: ${state}`);
  }
}
