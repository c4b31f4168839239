#!/usr/bin/env node
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { ConfigError, loadConfig, type StepConfig } from '../config/step.config.js';
import { EXIT_FAILURE, EXIT_USAGE, ManageError } from './manage.errors.js';
import { ManageModule } from './manage.module.js';

// `stepd`: server-side administration on the database of the configured STEP_DATA_DIR
// (`stepd users add|passwd|rm|ls`). Exit status 0 on success, 1 when the operation failed,
// 2 for a usage or configuration error; errors are one line on stderr.

function fail(message: string, exitCode: number): void {
  process.stderr.write(`stepd: ${message}\n`);
  process.exitCode = exitCode;
}

async function main(): Promise<void> {
  let config: StepConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    fail(err.problems.join('; '), EXIT_USAGE);
    return;
  }
  await CommandFactory.run(ManageModule.forRoot(config), {
    cliName: 'stepd',
    logger: false,
    // Let startup errors (unreadable database, bad data dir) reach the one-line report below instead of aborting.
    abortOnError: false,
    serviceErrorHandler: (err) =>
      err instanceof ManageError ? fail(err.message, err.exitCode) : fail(`failed: ${err.message}`, EXIT_FAILURE),
  });
}

main().catch((err: unknown) => fail(`failed: ${(err as Error)?.message ?? String(err)}`, EXIT_FAILURE));
