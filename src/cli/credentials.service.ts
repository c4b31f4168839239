import { Injectable } from '@nestjs/common';
import { InquirerService, Question, QuestionSet } from 'nest-commander';
import { StepClient } from '../client/step-client.js';
import { UsageError } from './cli-errors.js';
import { clientOptions, type CliSettings } from './cli.config.js';
import { TokenStore } from './token-store.js';

/** Name of the question set that asks for the login password on a terminal. */
export const LOGIN_PASSWORD_QUESTIONS = 'login-password';

/** Longest password `--password-stdin` accepts (the rest of a huge pipe is not read). */
const MAX_PASSWORD_BYTES = 4096;

/** The login password prompt: nothing is echoed, not even a mask. */
@QuestionSet({ name: LOGIN_PASSWORD_QUESTIONS })
export class LoginPasswordQuestions {
  /** The password itself. */
  @Question({ type: 'password', name: 'password', message: 'Password:' })
  parsePassword(value: string): string {
    return value;
  }
}

/**
 * Where a command's credentials come from, in order: a token `step login` stored for this server
 * and user, the password from `--password`/`STEP_PASSWORD`/`--password-stdin`, and on a terminal a
 * prompt once the legacy default password is refused.
 */
@Injectable()
export class CredentialsService {
  constructor(private readonly inquirer: InquirerService) {}

  /** The token store for these settings. */
  tokens(settings: CliSettings): TokenStore {
    return TokenStore.in(settings.stateDir);
  }

  /** `host:port` as tokens are keyed. */
  server(settings: CliSettings): string {
    return `${settings.host}:${settings.port}`;
  }

  /** A client for these settings, carrying the stored token when there is one. */
  async client(settings: CliSettings, useStoredToken = true): Promise<StepClient> {
    const options = clientOptions(settings);
    const password = settings.passwordStdin ? await readPasswordFromStdin() : options.password;
    const token = useStoredToken ? await this.tokens(settings).get(this.server(settings), options.username) : null;
    // Prompt only when someone can answer: stdin and stderr on a terminal, stdin not a password pipe.
    const canAsk = password === undefined && !settings.passwordStdin && process.stdin.isTTY === true && process.stderr.isTTY === true;
    return new StepClient({ ...options, password, token, askPassword: canAsk ? () => this.ask() : undefined });
  }

  private async ask(): Promise<string> {
    const answers = await this.inquirer.ask<{ password: string }>(LOGIN_PASSWORD_QUESTIONS, undefined);
    return answers.password;
  }
}

/** The first line of standard input (`--password-stdin`), without its line ending. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length > MAX_PASSWORD_BYTES || (chunk as Buffer).includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0];
  if (Buffer.byteLength(line) > MAX_PASSWORD_BYTES)
    throw new UsageError(`--password-stdin: the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  if (line === '') throw new UsageError('--password-stdin: standard input holds no password');
  return line;
}
