import { setTimeout as sleep } from 'node:timers/promises';
import { StepClientConnection } from '../../src/client/step-client.connection.js';
import { http } from './http.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { request } from './test-app.js';

/**
 * Starts `count` stepd children on one data dir (and so, in the PostgreSQL projects, one
 * database: test/helpers/postgres.ts binds the database to the data dir), one after the other
 * so that the first runs the migrations alone. Each gets its own STEP_INSTANCE_ID.
 */
export async function startInstances(dataDir: string, count: number, env: Record<string, string> = {}): Promise<ServerProcess[]> {
  const instances: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      instances.push(
        await startServerProcess(dataDir, {
          STEP_INSTANCE_ID: `stepd-${i + 1}`,
          STEP_MAX_CONNECTIONS_PER_ADDRESS: '4096',
          STEP_LOGIN_ATTEMPTS_PER_MINUTE: '100000',
          ...env,
        }),
      );
    }
  } catch (error) {
    await Promise.all(instances.map((instance) => instance.kill()));
    throw error;
  }
  return instances;
}

/** The sum of a Prometheus counter over all its label sets in an instance's /metrics (0 when absent). */
export async function counterOf(httpPort: number, name: string): Promise<number> {
  const reply = await http(httpPort, '/metrics');
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  let sum = 0;
  for (const line of reply.text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match && match[1] === name) sum += Number(match[3]);
  }
  return sum;
}

/** A connection to `port` (an instance or the balancer), bounded by a 15 s reply timeout. */
export function connectTo(port: number): Promise<StepClientConnection> {
  return StepClientConnection.connect({ host: '127.0.0.1', port, timeoutMs: 15_000 });
}

/**
 * Polls the status of a DATA LIST made with `token` on `port` every 50 ms until it is `wanted`;
 * returns the milliseconds it took, or throws after `timeoutMs`.
 */
export async function waitForTokenStatus(port: number, token: string, wanted: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const conn = await connectTo(port);
  try {
    let last: unknown;
    while (Date.now() - started <= timeoutMs) {
      const reply = await conn.request(request({ type: 'DATA', operation: 'LIST', token }));
      last = reply.json.status;
      if (last === wanted) return Date.now() - started;
      await sleep(50);
    }
    throw new Error(`token still answered ${String(last)} after ${timeoutMs} ms (wanted ${wanted})`);
  } finally {
    conn.close();
  }
}
