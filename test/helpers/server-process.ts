import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STEPD_READY, stepdChildEnv } from '../../bench/bench-servers.js';
import { spawnListening } from '../../bench/child-process.js';
import { databaseEnvFor } from './postgres.js';

/** Path of the built server entry point (tests run after `npm run build`). */
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** A stepd running as a child process (for kill -9 and restart tests). */
export interface ServerProcess {
  child: ChildProcess;
  stepPort: number;
  httpPort: number;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/src/main.js` (or `args`, e.g. `stepd serve`) on ephemeral loopback ports with the given data dir and waits
 * (bounded) until it prints where it listens. In the PostgreSQL projects it gets the database bound
 * to `dataDir`, so a restart over the same dir finds its data (dropped when the test file ends).
 */
export async function startServerProcess(
  dataDir: string,
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  args = [SERVER_ENTRY],
): Promise<ServerProcess> {
  const { child, ports, output, exited } = await spawnListening({
    args,
    env: { PATH: process.env.PATH, ...stepdChildEnv(dataDir), ...(await databaseEnvFor(dataDir)), ...env },
    ready: [STEPD_READY, /HTTP listening on http:\/\/[^\s]+:(\d+)/],
    timeoutMs,
  });
  return {
    child,
    stepPort: ports[0],
    httpPort: ports[1],
    output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
