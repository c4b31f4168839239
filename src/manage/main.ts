#!/usr/bin/env node
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFactory } from 'nest-commander';
import { ExitCode } from '../common/exit-code.js';
import { packageVersion } from '../common/package-version.js';
import { EnvFileError, operatorEnvironment } from '../config/operator-environment.js';
import { ConfigError, loadConfig, type StepConfig } from '../config/step.config.js';
import { DATABASE_FILE, databaseKind } from '../database/database.options.js';
import { checkConfig } from './check-config.js';
import { ManageError } from './manage.errors.js';
import { ManageModule } from './manage.module.js';
import { scanOperatorArgs } from './operator-args.js';

// `stepd`: the server (`stepd serve`), a configuration check (`stepd check-config`) and account
// administration on the database of the configured STEP_DATA_DIR (`stepd users add|passwd|rm|ls`).
// Exit status 0 on success, 1 when the operation failed, 2 for a usage or configuration error;
// errors are one line on stderr.

function fail(message: string, exitCode: ExitCode): void {
  process.stderr.write(`stepd: ${message}\n`);
  process.exitCode = exitCode;
}

async function main(): Promise<void> {
  const args = scanOperatorArgs(process.argv.slice(2));
  if (args.version && args.command === undefined) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  let config: StepConfig;
  try {
    config = loadConfig(operatorEnvironment(args));
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof EnvFileError)) throw err;
    // check-config promises 0/1 like `nginx -t`; the other commands treat configuration as usage.
    fail(
      err instanceof ConfigError ? err.problems.join('; ') : err.message,
      args.command === 'check-config' ? ExitCode.FAILED : ExitCode.USAGE,
    );
    return;
  }
  // Imported only here: loading the server's module tree registers its data source, which the
  // users commands' own would then collide with.
  if (args.command === 'serve') return (await import('../serve.js')).serve(config);
  if (args.command === 'check-config') {
    const check = checkConfig(config);
    process.stdout.write(`${check.effective}\n`);
    process.stderr.write(`stepd: ${check.verdict}\n`);
    process.exitCode = check.ok ? ExitCode.OK : ExitCode.FAILED;
    return;
  }
  if (args.command === 'users') {
    // Run from the wrong directory, the default ./data would silently become a new, empty database.
    const database = join(config.storage.dataDir, DATABASE_FILE);
    if (!args.init && databaseKind(config) === 'sqlite' && !existsSync(database)) {
      fail(`no database at ${database} (check --data-dir, --env-file or STEP_DATA_DIR; pass --init to create one)`, ExitCode.USAGE);
      return;
    }
    if (config.auth.mode === 'legacy') {
      process.stderr.write(
        'stepd: warning: STEP_AUTH_MODE is legacy in this configuration: accounts have no effect until the server runs with STEP_AUTH_MODE=accounts\n',
      );
    }
  }
  await CommandFactory.run(ManageModule.forRoot(config), {
    cliName: 'stepd',
    logger: false,
    // Let startup errors (unreadable database, bad data dir) reach the one-line report below instead of aborting.
    abortOnError: false,
    serviceErrorHandler: (err) =>
      err instanceof ManageError ? fail(err.message, err.exitCode) : fail(`failed: ${err.message}`, ExitCode.FAILED),
  });
}

main().catch((err: unknown) => fail(`failed: ${(err as Error)?.message ?? String(err)}`, ExitCode.FAILED));
