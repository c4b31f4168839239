#!/usr/bin/env node
import { CommandFactory } from 'nest-commander';
import { ExitCode } from '../common/exit-code.js';
import { exitCodeOf, failureJson } from './cli-errors.js';
import { CliModule } from './cli.module.js';
import { StepCompletion } from './shell-completion.js';
import { StepRootCommand, type CommanderFailure } from './root.command.js';

/** Commander calls this instead of exiting: help/version exit 0, every other parse error is a usage error. */
function exitOnCommanderError(failure: CommanderFailure): never {
  const ok = failure.exitCode === 0 || failure.code === 'commander.helpDisplayed' || failure.code === 'commander.version';
  // Commander already printed the error on stderr; a --json caller still gets its error object.
  if (!ok && process.argv.includes('--json')) {
    const message = failure.message.replace(/^error: /, '');
    process.stdout.write(`${JSON.stringify({ error: { message, retryable: false } })}\n`);
  }
  process.exit(ok ? ExitCode.OK : ExitCode.USAGE);
}

async function main(): Promise<void> {
  const shell = StepCompletion.requestedScript(process.argv.slice(2));
  if (shell) {
    process.stdout.write(`${StepCompletion.script(shell)}\n`);
    return;
  }
  const app = await CommandFactory.createWithoutRunning(CliModule, {
    logger: false,
    cliName: 'step',
    errorHandler: (err) => exitOnCommanderError(err as unknown as CommanderFailure),
    // Commands report their own failures; this sees errors raised while parsing (an @Option
    // method's UsageError) and by nest-commander itself.
    serviceErrorHandler: (err) => {
      process.stderr.write(`step: ${err.message}\n`);
      if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(failureJson(err))}\n`);
      process.exitCode = exitCodeOf(err);
    },
  });
  app.get(StepRootCommand).configureTree(exitOnCommanderError);
  try {
    await CommandFactory.runApplication(app);
  } finally {
    await app.close();
  }
}

main().then(
  // Exit explicitly: a socket a server left half-open must not keep a finished CLI alive.
  () => process.exit(process.exitCode ?? ExitCode.OK),
  (err: unknown) => {
    process.stderr.write(`step: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(ExitCode.FAILED);
  },
);
