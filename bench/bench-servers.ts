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

async function start(entry: string, dataDir: string, ready: RegExp, env: Record<string, string> = {}): Promise<BenchServer> {
  await mkdir(dataDir, { recursive: true });
  const child = await spawnListening({ args: [entry, dataDir], env: { PATH: process.env.PATH, ...env }, ready: [ready] });
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

/** stepd from the build output (dist/src/main.js). */
export function startStepd(root: string): Promise<BenchServer> {
  const dataDir = join(root, 'stepd-data');
  return start(STEPD_ENTRY, dataDir, STEPD_READY, stepdChildEnv(dataDir));
}

/** The baseline raw-TCP server. */
export function startBaseline(root: string): Promise<BenchServer> {
  return start(BASELINE_ENTRY, join(root, 'baseline-data'), /BASELINE listening on [^\s]+:(\d+)/);
}

/** The tus peer server. */
export function startTus(root: string): Promise<BenchServer> {
  return start(TUS_ENTRY, join(root, 'tus-data'), /TUS listening on [^\s]+:(\d+)/);
}
