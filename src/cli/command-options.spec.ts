import type { INestApplicationContext } from '@nestjs/common';
import { CommandFactory, type CommandRunner } from 'nest-commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from './cli-errors.js';
import { CliModule } from './cli.module.js';
import { DataLsCommand } from './data.command.js';
import { DownloadCommand } from './download.command.js';
import { LsCommand } from './ls.command.js';
import { StepRootCommand } from './root.command.js';
import { UploadCommand } from './upload.command.js';

/** The part of commander's Command a test needs: parse options only (no action runs), read them back. */
interface ParsedCommand {
  parseOptions(argv: string[]): unknown;
  opts(): Record<string, unknown>;
}

// The real command tree, as `step` builds it: nest-commander wires each @Option method in as the
// option's parser, so these prove what a command's `options` hold, without running anything.
describe('step options, parsed by their @Option methods', () => {
  let app: INestApplicationContext;
  const parsed = (runner: new (...args: never[]) => CommandRunner, argv: string[]): Record<string, unknown> => {
    const command = (app.get(runner) as unknown as { command: ParsedCommand }).command;
    command.parseOptions(argv);
    return command.opts();
  };

  beforeAll(async () => {
    app = await CommandFactory.createWithoutRunning(CliModule, { logger: false });
  });
  afterAll(() => app.close());

  it('gives the global options typed: the server address, the timeout in seconds, flags as booleans', () => {
    expect(parsed(StepRootCommand, ['--server', '[::1]:1400', '--timeout', '1.5', '--json', '--tls', '--user', 'u'])).toEqual({
      server: { host: '::1', port: 1400 },
      timeout: 1.5,
      json: true,
      tls: true,
      user: 'u',
    });
  });

  it('refuses a bad global value while parsing, as a usage error naming the flag', () => {
    expect(() => parsed(StepRootCommand, ['--timeout', '0'])).toThrow(UsageError);
    expect(() => parsed(StepRootCommand, ['--timeout', 'soon'])).toThrow(/--timeout must be a number/);
    expect(() => parsed(StepRootCommand, ['--server', 'host:99999'])).toThrow(/--server port/);
  });

  it('gives upload and download their tuning as numbers and their switches as booleans', () => {
    const upload = ['--connections', '3', '--block-size', '64KiB', '--no-progress', '--key', 'k', '-r', '--force'];
    expect(parsed(UploadCommand, upload)).toEqual({
      connections: 3,
      blockSize: 64 * 1024,
      progress: false,
      key: 'k',
      recursive: true,
      force: true,
    });
    expect(parsed(DownloadCommand, ['-o', 'out/', '--no-clobber'])).toMatchObject({ output: 'out/', clobber: false });
    expect(() => parsed(UploadCommand, ['--connections', '0'])).toThrow(/--connections must be an integer from 1 to 64/);
    expect(() => parsed(DownloadCommand, ['--block-size', 'big'])).toThrow(/--block-size must be a size/);
  });

  it('gives ls and data ls their limit as a number', () => {
    expect(parsed(LsCommand, ['--prefix', 'p/', '--limit', '5', '--bytes', '--incomplete'])).toEqual({
      prefix: 'p/',
      limit: 5,
      bytes: true,
      incomplete: true,
    });
    expect(parsed(DataLsCommand, ['--limit', '7'])).toEqual({ limit: 7 });
    expect(() => parsed(DataLsCommand, ['--limit', '0'])).toThrow(UsageError);
  });
});
