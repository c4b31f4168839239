#!/usr/bin/env node
import { CommandFactory } from 'nest-commander';
import { ExitCode } from './cli-errors.js';
import { CliModule } from './cli.module.js';
import { StepRootCommand, type CommanderFailure } from './root.command.js';

/** Commander calls this instead of exiting: help/version exit 0, every other parse error is a usage error. */
function exitOnCommanderError(failure: CommanderFailure): never {
  const ok = failure.exitCode === 0 || failure.code === 'commander.helpDisplayed' || failure.code === 'commander.version';
  process.exit(ok ? ExitCode.OK : ExitCode.USAGE);
}

async function main(): Promise<void> {
  const app = await CommandFactory.createWithoutRunning(CliModule, {
    logger: false,
    cliName: 'step',
    errorHandler: (err) => exitOnCommanderError(err as unknown as CommanderFailure),
    // Commands report their own failures; this only sees errors nest-commander itself raises.
    serviceErrorHandler: (err) => {
      process.stderr.write(`step: ${err.message}\n`);
      process.exitCode = ExitCode.FAILED;
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
