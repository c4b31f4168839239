import { CommandRunner, Option, RootCommand } from 'nest-commander';
import { packageVersion } from '../common/package-version.js';
import { ExitCode } from '../common/exit-code.js';
import { EXIT_CODES_HELP } from './cli-errors.js';
import { DEFAULT_SERVER, parseServer, parseTimeout, type ServerAddress } from './option-parsers.js';
import { StepCompletion } from './shell-completion.js';

/** `step`'s global options (before or after the command name), as the `@Option` methods below parsed them. */
export interface StepGlobalOptions {
  server?: ServerAddress;
  user?: string;
  password?: string;
  passwordStdin?: boolean;
  profile?: string;
  json?: boolean;
  quiet?: boolean;
  /** Seconds. */
  timeout?: number;
  tls?: boolean;
  ca?: string;
}

/** Commander's error object, as much of it as the exit-code mapping needs. */
export interface CommanderFailure {
  exitCode: number;
  code: string;
  message: string;
}

/** Examples shown under `--help`, by command name. */
const EXAMPLES: Record<string, string> = {
  step: `
Examples:
  step --server files.example:1379 --user alice login
  step upload *.iso --prefix isos/
  step upload -r photos/ --prefix 2026/
  step download isos/debian.iso -o downloads/
  tar c dir | step upload - --key dir.tar
  step --json ls --prefix isos/
  step completion bash >> ~/.bashrc          (or: step completion zsh >> ~/.zshrc)`,
  upload: `
Examples:
  step upload report.pdf
  step upload a.bin b.bin --prefix backup/
  step upload -r photos/ --prefix 2026/      (keys 2026/<path under photos/>)
  tar c dir | step upload - --key dir.tar    (standard input is spooled to $TMPDIR first)
  step upload big.iso --block-size 16MiB --connections 8 --force`,
  download: `
Examples:
  step download report.pdf
  step download isos/debian.iso -o downloads/
  step download dir.tar -o - | tar x
  step download report.pdf -o copy.pdf --no-clobber`,
};

/**
 * `step` itself: holds the global options (recognised before or after the command name) and
 * answers a missing or unknown command with the help text and exit code 2.
 */
@RootCommand({ name: 'step', description: 'Client for STEP v1.0 servers (stepd): parallel, resumable transfers.' })
export class StepRootCommand extends CommandRunner {
  /** Runs when no known command was given. */
  async run(params: string[]): Promise<void> {
    process.stderr.write(params.length > 0 ? `step: unknown command "${params[0]}"\n` : 'step: missing command\n');
    process.stderr.write(this.command.helpInformation());
    process.exitCode = ExitCode.USAGE;
    await Promise.resolve();
  }

  /**
   * Makes every command of the tree report usage errors through `onError` (nest-commander sets it
   * on the root only) and refuse surplus arguments.
   */
  configureTree(onError: (failure: CommanderFailure) => never): void {
    this.command.version(packageVersion(), '-V, --version', 'print the version');
    StepCompletion.attach(this.command);
    const visit = (command: typeof this.command) => {
      // nest-commander's completion commands take the words being completed as arguments.
      if (command.name().startsWith('completion')) return;
      command.exitOverride((err) => onError(err));
      command.configureHelp({ showGlobalOptions: true });
      command.addHelpText('after', EXAMPLES[command.name()] ?? '');
      command.addHelpText('after', EXIT_CODES_HELP);
      command.allowExcessArguments(false);
      command.commands.forEach(visit);
    };
    visit(this.command);
  }

  @Option({ flags: '--server <host:port>', description: `STEP server (env STEP_SERVER; default ${DEFAULT_SERVER})` })
  server(value: string): ServerAddress {
    return parseServer(value);
  }

  @Option({ flags: '--user <name>', description: 'user name (env STEP_USER)' })
  user(value: string): string {
    return value;
  }

  @Option({
    flags: '--password <password>',
    description:
      'password (env STEP_PASSWORD; visible in ps, prefer --password-stdin or the prompt; default: a token from `step login`, else the legacy MD5 of the user name, else a prompt on a terminal)',
  })
  password(value: string): string {
    return value;
  }

  @Option({ flags: '--password-stdin', description: 'read the password from the first line of standard input' })
  passwordStdin(): boolean {
    return true;
  }

  @Option({
    flags: '--profile <name>',
    description:
      'take server, user, tls, ca, connections and block_size from this profile of ~/.config/step/config.json (env STEP_PROFILE)',
  })
  profile(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print one JSON object on stdout at the end, nothing else' })
  json(): boolean {
    return true;
  }

  @Option({ flags: '-q, --quiet', description: 'print nothing on stderr but errors (no progress bar)' })
  quiet(): boolean {
    return true;
  }

  @Option({ flags: '--timeout <seconds>', description: 'connect/reply timeout and retry budget (default 30)' })
  timeout(value: string): number {
    return parseTimeout(value);
  }

  @Option({ flags: '--tls', description: 'speak STEP inside TLS, verifying the server certificate (env STEP_TLS=1)' })
  tls(): boolean {
    return true;
  }

  @Option({ flags: '--ca <file>', description: 'PEM file of a CA to trust for --tls (env STEP_CA; implies --tls)' })
  ca(value: string): string {
    return value;
  }
}
