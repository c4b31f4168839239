import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { legacyParallelCase, type BenchCase, type BenchContext } from './bench-cases.js';
import type { CaseName } from './bench-options.js';
import { STEPD_ENTRY, STEPD_READY, stepdChildEnv, type BenchServer } from './bench-servers.js';
import { spawnListening } from './child-process.js';
import { startHaproxy } from './haproxy.js';
import { startRoundRobinProxy } from './round-robin-proxy.js';
import { stepdUpload, type StepdTarget } from './stepd-engine.js';
import { legacyUpload, stepdDelete } from './stepd-legacy.js';

/** The machine's PostgreSQL as this project's machines run it (trust auth, user postgres). */
const MACHINE_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Names of the bench's databases; one left by a killed bench can be dropped by this prefix. */
const DATABASE_PREFIX = 'stepd_bench_';
const HTTP_READY = /HTTP listening on http:\/\/[^\s]+:(\d+)/;

/** The cases on PostgreSQL, each the counterpart of a SQLite case of the same run (README "Scaling out"). */
export const POSTGRES_CASES = ['pg-upload', 'pg-balanced', 'pg-legacy', 'pg-legacy-8'] as const satisfies readonly CaseName[];

/** Where the bench creates its databases: --database-url, else STEP_TEST_DATABASE_URL, else the machine's server. */
export function benchDatabaseServer(given: string | null): string {
  return given ?? process.env.STEP_TEST_DATABASE_URL ?? MACHINE_POSTGRES_URL;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect().catch((err: Error) => {
    throw new Error(`the PostgreSQL cases need a server (--database-url or STEP_TEST_DATABASE_URL): ${adminUrl}: ${err.message}`);
  });
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database on the server of `adminUrl`, dropped by the context's clean-ups; returns its URL. */
async function freshDatabase(ctx: BenchContext, adminUrl: string): Promise<string> {
  // The bench's pid in the name says which run a database belongs to (a killed one's can be dropped).
  const name = `${DATABASE_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  ctx.cleanups.push(() => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A stepd child on PostgreSQL with its STEP and HTTP ports (the balancer checks /health on the latter). */
async function startPostgresStepd(ctx: BenchContext, dataDir: string, databaseUrl: string, instance: string): Promise<BenchServer> {
  await mkdir(dataDir, { recursive: true });
  const nodeArgs = ctx.options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.options.cpuProfileDir] : [];
  const child = await spawnListening({
    args: [...nodeArgs, STEPD_ENTRY, dataDir],
    env: {
      PATH: process.env.PATH,
      ...stepdChildEnv(dataDir),
      STEP_DATABASE_URL: databaseUrl,
      STEP_INSTANCE_ID: instance,
      STEP_MAX_CONNECTIONS_PER_ADDRESS: '4096',
      STEP_LOGIN_ATTEMPTS_PER_MINUTE: '100000',
    },
    ready: [STEPD_READY, HTTP_READY],
  });
  const server = { ...child, port: child.ports[0], dataDir };
  ctx.servers.push(server);
  return server;
}

/** haproxy running deploy/haproxy.cfg when it is installed, else the round-robin proxy; its port. */
async function startBalancer(ctx: BenchContext, instances: BenchServer[]): Promise<{ port: number; kind: string }> {
  if (spawnSync('haproxy', ['-v']).status === 0) {
    const haproxy = await startHaproxy(
      await freePort(),
      instances.map((s) => ({ stepPort: s.ports[0], httpPort: s.ports[1] })),
    );
    ctx.cleanups.unshift(() => haproxy.close());
    return { port: haproxy.port, kind: 'haproxy (deploy/haproxy.cfg)' };
  }
  const proxy = await startRoundRobinProxy(instances.map((s) => ({ port: s.port })));
  ctx.cleanups.unshift(() => proxy.close());
  return { port: proxy.port, kind: 'round-robin proxy (no haproxy installed)' };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The PostgreSQL cases asked for: `pg-upload` and `pg-legacy` on one instance with a database of
 * its own; `pg-balanced` on two instances sharing another database and a data dir, behind the
 * balancer (both instances' CPU counts as the server's).
 */
export async function preparePostgresCases(ctx: BenchContext): Promise<Map<CaseName, BenchCase>> {
  const cases = new Map<CaseName, BenchCase>();
  const wants = (name: CaseName) => ctx.options.cases.includes(name);
  if (!POSTGRES_CASES.some(wants)) return cases;
  const adminUrl = benchDatabaseServer(ctx.options.databaseUrl);
  const { size } = ctx.options;
  if (wants('pg-upload') || wants('pg-legacy') || wants('pg-legacy-8')) {
    const server = await startPostgresStepd(ctx, join(ctx.root, 'stepd-pg-data'), await freshDatabase(ctx, adminUrl), 'bench-pg');
    const target: StepdTarget = { host: '127.0.0.1', port: server.port, user: 'bench' };
    if (wants('pg-upload')) cases.set('pg-upload', uploadCase(ctx, server, target, 'bench-pg-upload'));
    if (wants('pg-legacy')) {
      cases.set('pg-legacy', {
        server,
        bytes: size,
        run: async (run) => {
          await legacyUpload(target, ctx.source, `bench-pg-legacy-${run}`);
          await stepdDelete(target, `bench-pg-legacy-${run}`);
        },
      });
    }
    // The counterpart of legacy-8: a class of old clients at once, whose receipts share commits.
    if (wants('pg-legacy-8')) cases.set('pg-legacy-8', await legacyParallelCase(ctx, target, server));
  }
  if (wants('pg-balanced')) {
    const databaseUrl = await freshDatabase(ctx, adminUrl);
    const shared = join(ctx.root, 'stepd-pg-shared');
    // One after the other: the first runs the migrations.
    const first = await startPostgresStepd(ctx, shared, databaseUrl, 'bench-pg-1');
    const second = await startPostgresStepd(ctx, shared, databaseUrl, 'bench-pg-2');
    const balancer = await startBalancer(ctx, [first, second]);
    ctx.result.balancer = balancer.kind;
    const target: StepdTarget = { host: '127.0.0.1', port: balancer.port, user: 'bench' };
    cases.set('pg-balanced', { ...uploadCase(ctx, first, target, 'bench-pg-balanced'), others: [second] });
  }
  return cases;
}

function uploadCase(ctx: BenchContext, server: BenchServer, target: StepdTarget, key: string): BenchCase {
  return {
    server,
    bytes: ctx.options.size,
    run: async (run) => {
      await stepdUpload(target, ctx.source, `${key}-${run}`);
      await stepdDelete(target, `${key}-${run}`);
    },
  };
}
