import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnListening, type ListeningChild } from './child-process.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Built server entry points, relative to dist/bench/. */
export const STEPD_ENTRY = here('../src/main.js');
const BASELINE_ENTRY = here('./baseline-server.js');
const TUS_ENTRY = here('./tus-server.js');

/** A server child with its port and storage dir. */
export interface BenchServer extends ListeningChild {
  port: number;
  dataDir: string;
}

async function start(
  entry: string,
  dataDir: string,
  ready: RegExp,
  nodeArgs: string[],
  env: Record<string, string> = {},
): Promise<BenchServer> {
  await mkdir(dataDir, { recursive: true });
  const child = await spawnListening({ args: [...nodeArgs, entry, dataDir], env: { PATH: process.env.PATH, ...env }, ready: [ready] });
  return { ...child, port: child.ports[0], dataDir };
}

/** What stepd prints once its STEP port is open (the first group is the port). */
export const STEPD_READY = /STEP(?: over TLS)? listening on [^\s]+:(\d+)/;

/**
 * stepd's environment for a child on ephemeral loopback ports with its own data dir. LOG_LEVEL
 * stays at `log` because that is the level of the line announcing the ports; nothing on the
 * transfer path logs at that level.
 */
export function stepdChildEnv(dataDir: string): Record<string, string> {
  return { STEP_HOST: '127.0.0.1', STEP_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', STEP_DATA_DIR: dataDir, LOG_LEVEL: 'log' };
}

/**
 * stepd from the build output (dist/src/main.js), default settings except two per-address limits:
 * every bench client comes from 127.0.0.1, where in real use 64 clients are 64 hosts.
 */
export function startStepd(root: string, nodeArgs: string[] = [], dirName = 'stepd-data'): Promise<BenchServer> {
  const dataDir = join(root, dirName);
  return start(STEPD_ENTRY, dataDir, STEPD_READY, nodeArgs, {
    ...stepdChildEnv(dataDir),
    STEP_MAX_CONNECTIONS_PER_ADDRESS: '4096',
    STEP_LOGIN_ATTEMPTS_PER_MINUTE: '100000',
  });
}

/** The baseline raw-TCP server. */
export function startBaseline(root: string, nodeArgs: string[] = []): Promise<BenchServer> {
  return start(BASELINE_ENTRY, join(root, 'baseline-data'), /BASELINE listening on [^\s]+:(\d+)/, nodeArgs);
}

/** The tus peer server. */
export function startTus(root: string, nodeArgs: string[] = []): Promise<BenchServer> {
  return start(TUS_ENTRY, join(root, 'tus-data'), /TUS listening on [^\s]+:(\d+)/, nodeArgs);
}
