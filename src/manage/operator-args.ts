import type { OperatorSources } from '../config/operator-environment.js';

/** What `stepd` needs to know from its arguments before any Nest application exists. */
export interface OperatorArgs extends OperatorSources {
  /** The first positional argument: `serve`, `check-config`, `users`, or undefined. */
  command?: string;
  /** `--init`: `stepd users` may create a database where there is none. */
  init: boolean;
  version: boolean;
}

const VALUE_OPTIONS = { '--env-file': 'envFile', '--data-dir': 'dataDir' } as const;

/**
 * Reads the options that choose the configuration (`--env-file`, `--data-dir`, `--init`) wherever
 * they stand: the configuration must be loaded before the command tree can be built on it.
 * Commander still sees them (they are declared on the commands) and reports anything else.
 */
export function scanOperatorArgs(argv: string[]): OperatorArgs {
  const args: OperatorArgs = { init: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name in VALUE_OPTIONS) {
      const value = inline ?? argv[++i];
      if (value !== undefined) args[VALUE_OPTIONS[name as keyof typeof VALUE_OPTIONS]] = value;
    } else if (arg === '--init') args.init = true;
    else if (arg === '--version' || arg === '-V') args.version = true;
    else if (!arg.startsWith('-') && args.command === undefined) args.command = arg;
  }
  return args;
}
