import { Inject } from '@nestjs/common';
import { CommandRunner } from 'nest-commander';
import { StepClient } from '../client/step-client.js';
import { UsageError } from './cli-errors.js';
import { CliOutputService } from './cli-output.service.js';
import { resolveSettings, type CliSettings } from './cli.config.js';
import { CredentialsService } from './credentials.service.js';
import type { StepGlobalOptions } from './root.command.js';

/** What a command body gets: merged settings, a lazily connected client, the output service. */
export interface CommandContext {
  settings: CliSettings;
  /** The STEP client (created before the command runs, connected on first use, closed after it). */
  client(): StepClient;
  /** Prints the result: `value` as JSON with --json, `text` otherwise. */
  print(value: object, text: string): void;
}

/**
 * Base of every `step` command: merges global options with the environment, runs the body,
 * turns any failure into one stderr line (and the --json error object) with the exit code of its
 * kind, and always closes the client. `O` is the command's own options, already parsed by its
 * `@Option` methods.
 */
export abstract class StepCommand<O extends object = object> extends CommandRunner {
  /** Name used in failure messages (`step: <name> failed: ...`). */
  protected abstract readonly label: string;
  /** False for commands that must not reuse the stored token (`login` makes a new one). */
  protected readonly useStoredToken: boolean = true;
  // Property injection: every command gets credentials without repeating it in each constructor.
  @Inject(CredentialsService) protected readonly credentials!: CredentialsService;

  constructor(protected readonly output: CliOutputService) {
    super();
  }

  /** Entry point called by nest-commander. */
  async run(params: string[]): Promise<void> {
    let client: StepClient | null = null;
    const options = this.command.optsWithGlobals<StepGlobalOptions & O>();
    try {
      const settings = resolveSettings(options);
      const ready = await this.credentials.client(settings, this.useStoredToken);
      client = ready;
      const context: CommandContext = {
        settings,
        client: () => ready,
        print: (value, text) => this.output.result(settings.json, value, text),
      };
      await this.execute(context, params, options);
    } catch (err) {
      this.output.fail(this.label, err, options.json === true);
    } finally {
      (client as StepClient | null)?.close();
    }
  }

  /** The command's work. `options` are its own, parsed; the global ones reach it as `context.settings`. */
  protected abstract execute(context: CommandContext, params: string[], options: O): Promise<void>;

  /** The positional argument at `index`, or a usage error naming it. */
  protected argument(params: string[], index: number, name: string): string {
    const value = params[index];
    if (value === undefined || value === '') throw new UsageError(`missing ${name}`);
    return value;
  }
}
