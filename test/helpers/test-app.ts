import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStepApp, type StepApp } from '../../src/app.factory.js';
import { StepClientConnection, type StepResponse } from '../../src/client/step-client.connection.js';
import { md5Hex } from '../../src/common/md5.js';
import { loadConfig, type StepConfig } from '../../src/config/step.config.js';
import type { StepJson } from '../../src/protocol/index.js';
import { databaseEnvFor, releaseDatabaseFor } from './postgres.js';

/** A stepd booted in this process on ephemeral loopback ports with a temporary data dir. */
export interface TestApp extends StepApp {
  config: StepConfig;
  dataDir: string;
  /** Opens a client connection to the STEP port. */
  connect(): Promise<StepClientConnection>;
  /** Closes the app and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Boots the real hybrid app; `env` overrides stepd's environment variables. In the PostgreSQL
 * projects the app gets a database bound to its data dir (test/helpers/postgres.ts): dropped on
 * `stop()` with a data dir of its own, kept for the next app when the caller gave STEP_DATA_DIR.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = env.STEP_DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'stepd-test-')));
  const config = loadConfig({
    ...(await databaseEnvFor(dataDir)),
    STEP_HOST: '127.0.0.1',
    STEP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    STEP_DATA_DIR: dataDir,
    LOG_LEVEL: 'fatal',
    STEP_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const stepd = await createStepApp(config);
  const connections: StepClientConnection[] = [];
  return {
    ...stepd,
    config,
    dataDir,
    async connect() {
      const connection = await StepClientConnection.connect({ host: '127.0.0.1', port: stepd.stepAddress.port, timeoutMs: 15_000 });
      connections.push(connection);
      return connection;
    },
    async stop() {
      for (const connection of connections) connection.close();
      await stepd.close();
      if (env.STEP_DATA_DIR) return;
      await rm(dataDir, { recursive: true, force: true });
      await releaseDatabaseFor(dataDir);
    },
  };
}

/** A STEP request: `direction: REQUEST` plus the given fields. */
export function request(fields: StepJson): StepJson {
  return { direction: 'REQUEST', ...fields };
}

/** Logs in with the legacy password (MD5 of the user name) and returns the token. */
export async function login(connection: StepClientConnection, username = 'alice'): Promise<string> {
  const reply = await connection.request(request({ type: 'AUTH', operation: 'LOGIN', username, password: md5Hex(username) }));
  if (reply.json.status !== 200) throw new Error(`login failed: ${JSON.stringify(reply.json)}`);
  return reply.json.token as string;
}

/** Shorthand for the status of a reply. */
export function statusOf(response: StepResponse): number {
  return response.json.status as number;
}
