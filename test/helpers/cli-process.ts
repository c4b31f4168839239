import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built CLI (tests run after `npm run build`). */
export const CLI_ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/**
 * A private home for the CLI of this test file: `step login` stores tokens under
 * $XDG_STATE_HOME and profiles live under $XDG_CONFIG_HOME, never in the real home directory.
 */
export const CLI_HOME = mkdtempSync(join(tmpdir(), 'step-cli-home-'));
const CLI_BASE_ENV = { HOME: CLI_HOME, XDG_STATE_HOME: join(CLI_HOME, 'state'), XDG_CONFIG_HOME: join(CLI_HOME, 'config') };

/** How a CLI run ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node dist/src/cli/main.js ARGS` with only PATH, the private home and `env` in its environment. */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: { PATH: process.env.PATH, ...CLI_BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion, killing it after `timeoutMs` (bounded; never hangs a test). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return waitForCli(spawnCli(args, env), timeoutMs);
}

/** Collects a running CLI's output until it exits (SIGKILL after `timeoutMs`). */
export function waitForCli(child: ChildProcess, timeoutMs = 60_000): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A loopback port nobody listens on: bind port 0, note it, close it. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** How a CLI run with binary stdin/stdout ended. */
export interface BinaryCliRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI with `input` on its stdin and its stdout kept as bytes (for `-` pipes). */
export function runCliPiped(args: string[], env: Record<string, string>, input: Buffer | null, timeoutMs = 60_000): Promise<BinaryCliRun> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: { PATH: process.env.PATH, ...CLI_BASE_ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A CLI that exits before reading stdin must not fail the test with EPIPE.
  child.stdin.on('error', () => undefined);
  child.stdin.end(input ?? undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
  });
}
