import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Command, CommandRunner, InquirerService, Option, SubCommand } from 'nest-commander';
import { CreateUserDto, PasswordDto } from '../users/user.dto.js';
import { UserAccountsService } from '../admin/user-accounts.service.js';
import { UserExistsError, UserNotFoundError } from '../users/users.errors.js';
import { ManageError } from './manage.errors.js';
import { NEW_PASSWORD_QUESTIONS, type NewPasswordAnswers } from './new-password.questions.js';

/** Validates command-line input with the admin API's DTOs, so both accept exactly the same names and passwords. */
function validated<T extends object>(type: new () => T, plain: object): T {
  const dto = plainToInstance(type, plain);
  const [error] = validateSync(dto, { stopAtFirstError: true });
  const message = error && Object.values(error.constraints ?? {})[0];
  if (message) throw ManageError.usage(message);
  return dto;
}

/** The single NAME argument of a users subcommand. */
function nameArgument(params: string[]): string {
  if (params.length !== 1) throw ManageError.usage(`expected one user name, got ${params.length}`);
  return params[0];
}

/** Account errors become exit status 1 with their message; anything else propagates. */
function asManageError(err: unknown): never {
  if (err instanceof UserExistsError || err instanceof UserNotFoundError) throw new ManageError(err.message);
  throw err;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `stepd users add|passwd` options, as their `@Option` method parsed them. */
export interface UsersPasswordOptions {
  password?: string;
}

/** Shared by `add` and `passwd`: the --password option, or a prompt on a terminal. */
// @Injectable() makes TypeScript emit the constructor's parameter types that the subclasses inherit.
@Injectable()
abstract class PasswordCommand extends CommandRunner {
  constructor(
    protected readonly accounts: UserAccountsService,
    private readonly inquirer: InquirerService,
  ) {
    super();
  }

  /** --password P (visible in `ps` and shell history: prefer the prompt on a terminal). */
  @Option({ flags: '-p, --password <password>', description: 'the password (prompted for when absent and stdin is a terminal)' })
  parsePassword(value: string): string {
    return value;
  }

  protected async password(options: UsersPasswordOptions): Promise<string> {
    if (options.password !== undefined) return options.password;
    if (!process.stdin.isTTY) throw ManageError.usage('--password is required when stdin is not a terminal');
    const answers = await this.inquirer.ask<NewPasswordAnswers>(NEW_PASSWORD_QUESTIONS, undefined);
    return answers.password;
  }
}

/** `stepd users add NAME [--password P]` */
@SubCommand({ name: 'add', arguments: '<name>', description: 'create an account' })
export class UsersAddCommand extends PasswordCommand {
  async run(params: string[], options: UsersPasswordOptions): Promise<void> {
    const name = nameArgument(params);
    const dto = validated(CreateUserDto, { name, password: await this.password(options) });
    await this.accounts.add(dto.name, dto.password).catch(asManageError);
    print(`user "${dto.name}" added`);
  }
}

/** `stepd users passwd NAME [--password P]` */
@SubCommand({ name: 'passwd', arguments: '<name>', description: "set an account's password (ends its sessions)" })
export class UsersPasswdCommand extends PasswordCommand {
  async run(params: string[], options: UsersPasswordOptions): Promise<void> {
    const name = nameArgument(params);
    const { password } = validated(PasswordDto, { password: await this.password(options) });
    const revoked = await this.accounts.passwd(name, password).catch(asManageError);
    print(`password of "${name}" changed, ${revoked} session(s) revoked`);
  }
}

/** `stepd users rm NAME` */
@SubCommand({ name: 'rm', arguments: '<name>', description: 'remove an account (ends its sessions; its files stay)' })
export class UsersRmCommand extends CommandRunner {
  constructor(private readonly accounts: UserAccountsService) {
    super();
  }

  async run(params: string[]): Promise<void> {
    const name = nameArgument(params);
    const revoked = await this.accounts.remove(name).catch(asManageError);
    print(`user "${name}" removed, ${revoked} session(s) revoked`);
  }
}

/** `stepd users ls`: one account per line, `name<TAB>created_at<TAB>updated_at`. */
@SubCommand({ name: 'ls', description: 'list accounts' })
export class UsersLsCommand extends CommandRunner {
  constructor(private readonly accounts: UserAccountsService) {
    super();
  }

  async run(params: string[]): Promise<void> {
    if (params.length > 0) throw ManageError.usage('ls takes no arguments');
    for (const user of await this.accounts.list()) print(`${user.name}\t${user.created_at}\t${user.updated_at}`);
  }
}

/** `stepd users ...`: accounts of `accounts` auth mode, on the database of STEP_DATA_DIR. */
@Command({
  name: 'users',
  description: 'manage accounts (STEP_AUTH_MODE=accounts)',
  subCommands: [UsersAddCommand, UsersPasswdCommand, UsersRmCommand, UsersLsCommand],
})
export class UsersCommand extends CommandRunner {
  async run(params: string[]): Promise<void> {
    throw ManageError.usage(params.length ? `unknown command "users ${params[0]}"` : 'missing command: users add|passwd|rm|ls');
  }

  // Read before the command tree is built (src/manage/operator-args.ts); declared here for
  // commander's parsing and help.
  @Option({ flags: '--data-dir <dir>', description: 'the data directory (overrides STEP_DATA_DIR and --env-file)' })
  dataDir(value: string): string {
    return value;
  }

  @Option({
    flags: '--env-file <file>',
    description: "read settings from this KEY=value file, e.g. the systemd unit's /etc/stepd/stepd.env",
  })
  envFile(value: string): string {
    return value;
  }

  @Option({ flags: '--init', description: 'create the database when there is none (otherwise refused: wrong directory?)' })
  init(): boolean {
    return true;
  }
}
