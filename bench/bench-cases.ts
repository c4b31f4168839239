import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineUpload, type BaselineUploadOptions } from './baseline-client.js';
import { CASE_NAMES, type BenchOptions, type CaseName } from './bench-options.js';
import type { BenchResult } from './bench-report.js';
import { startBaseline, startStepd, startTus, type BenchServer } from './bench-servers.js';
import { writeRandomFile } from './random-file.js';
import { STEPD_ENGINE, stepdDownload, stepdUpload, type StepdTarget } from './stepd-engine.js';
import { LEGACY_BLOCK_SIZE, LEGACY_READ_BYTES, legacyUpload, stepdDelete } from './stepd-legacy.js';
import { preparePostgresCases } from './postgres-cases.js';
import { tusUpload } from './tus-client.js';

/** The stepd client's defaults the baseline mirrors. */
export const BLOCK_SIZE = 4 * 1024 * 1024;
export const CONNECTIONS = 4;
/** Requests in flight per baseline connection. */
const WINDOW = 2;
const TUS_CHUNK_SIZE = BLOCK_SIZE;
/** The many-clients case: this many clients at once, each uploading its own file of this size. */
const CONCURRENT_CLIENTS = 64;
const CONCURRENT_FILE_BYTES = 8 * 1024 * 1024;
/** The parallel legacy case: this many old clients at once, each uploading 25 MiB at the default --size, scaled with it. */
export const LEGACY_PARALLEL_CLIENTS = 8;
const LEGACY_PARALLEL_FILE_BYTES = 25 * 1024 * 1024;
const DEFAULT_SIZE = 256 * 1024 * 1024;

/** One timed case. Its client runs in the bench process, so the bench's CPU time is the client's. */
export interface BenchCase {
  /** The server process the case talks to (its CPU time is recorded). */
  server: BenchServer;
  /** Bytes one run moves. */
  bytes: number;
  /** Further server processes serving the case (instances behind a balancer): their CPU time counts too. */
  others?: BenchServer[];
  /** Runs once (the bench times the call). */
  run(run: number): Promise<void>;
}

/** Where the cases keep their files and servers. */
export interface BenchContext {
  options: BenchOptions;
  root: string;
  /** The random test file. */
  source: string;
  servers: BenchServer[];
  /** Run at the end, after the servers are stopped (balancers, databases), in order. */
  cleanups: (() => Promise<void>)[];
  result: BenchResult;
}

/** Starts the servers the chosen cases need and returns the cases that can run, in run order. */
export async function prepareCases(ctx: BenchContext): Promise<Map<CaseName, BenchCase>> {
  const { options, source } = ctx;
  const wants = (name: CaseName) => options.cases.includes(name);
  const cases = new Map<CaseName, BenchCase>();
  const size = options.size;
  if (wants('baseline')) {
    cases.set('baseline', await baselineCase(ctx, { blockSize: BLOCK_SIZE, connections: CONNECTIONS, window: WINDOW }));
  }
  if (wants('legacy-baseline')) {
    // The same raw pipeline shaped like an old client: the limit for stepd's legacy case.
    const shape = { blockSize: LEGACY_BLOCK_SIZE, connections: 1, window: 1, readBytes: LEGACY_READ_BYTES };
    cases.set('legacy-baseline', await baselineCase(ctx, shape));
  }
  if (wants('peer')) {
    const server = await startServer(ctx, startTus);
    cases.set('peer', {
      server,
      bytes: size,
      run: async () => {
        const { storedPath } = await tusUpload({ port: server.port, file: source, storeDir: server.dataDir, chunkSize: TUS_CHUNK_SIZE });
        await Promise.all([rm(storedPath), rm(`${storedPath}.json`, { force: true })]);
      },
    });
  }
  for (const [name, pgCase] of await preparePostgresCases(ctx)) cases.set(name, pgCase);
  if (!['upload', 'download', 'legacy', 'legacy-8', 'concurrent'].some((n) => wants(n as CaseName))) return inRunOrder(cases);
  const server = await startServer(ctx, startStepd);
  const target: StepdTarget = { host: '127.0.0.1', port: server.port, user: 'bench' };
  await addEngineCases(ctx, cases, target, server);
  if (wants('legacy')) {
    cases.set('legacy', {
      server,
      bytes: size,
      run: async (run) => {
        await legacyUpload(target, source, `bench-legacy-${run}`);
        await stepdDelete(target, `bench-legacy-${run}`);
      },
    });
  }
  if (wants('legacy-8')) cases.set('legacy-8', await legacyParallelCase(ctx, target, server));
  return inRunOrder(cases);
}

function inRunOrder(cases: Map<CaseName, BenchCase>): Map<CaseName, BenchCase> {
  return new Map(CASE_NAMES.filter((name) => cases.has(name)).map((name) => [name, cases.get(name)!]));
}

/** Several old clients at once (one user each, as several hosts would be), aggregate throughput. */
export async function legacyParallelCase(ctx: BenchContext, target: StepdTarget, server: BenchServer): Promise<BenchCase> {
  const fileBytes = Math.max(1, Math.round((LEGACY_PARALLEL_FILE_BYTES * ctx.options.size) / DEFAULT_SIZE));
  const file = join(ctx.root, 'legacy-parallel.bin');
  await writeRandomFile(file, fileBytes);
  const targets = Array.from({ length: LEGACY_PARALLEL_CLIENTS }, (_, i) => ({ ...target, user: `bench-legacy-${i}` }));
  return {
    server,
    bytes: fileBytes * LEGACY_PARALLEL_CLIENTS,
    run: async (run) => {
      await Promise.all(targets.map((t) => legacyUpload(t, file, `bench-legacy-parallel-${run}`)));
      await Promise.all(targets.map((t) => stepdDelete(t, `bench-legacy-parallel-${run}`)));
    },
  };
}

/** The raw pipeline with a given block size, connection count and window, on its own server. */
async function baselineCase(
  ctx: BenchContext,
  shape: Pick<BaselineUploadOptions, 'blockSize' | 'connections' | 'window' | 'readBytes'>,
): Promise<BenchCase> {
  const server = await startServer(ctx, startBaseline);
  return {
    server,
    bytes: ctx.options.size,
    run: async (run) => {
      await baselineUpload({ port: server.port, file: ctx.source, transferId: run, ...shape });
      await rm(join(server.dataDir, `baseline-${run}`));
    },
  };
}

async function startServer(ctx: BenchContext, start: (root: string, extraArgs: string[]) => Promise<BenchServer>): Promise<BenchServer> {
  const server = await start(ctx.root, ctx.options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.options.cpuProfileDir] : []);
  ctx.servers.push(server);
  return server;
}

/** Cases driven by the `step` client's engines: upload, download, many clients. */
async function addEngineCases(ctx: BenchContext, cases: Map<CaseName, BenchCase>, target: StepdTarget, server: BenchServer): Promise<void> {
  const { options, root, source, result } = ctx;
  result.engine = STEPD_ENGINE;
  if (options.cases.includes('upload')) {
    cases.set('upload', {
      server,
      bytes: options.size,
      run: async (run) => {
        await stepdUpload(target, source, `bench-upload-${run}`);
        await stepdDelete(target, `bench-upload-${run}`);
      },
    });
  }
  if (options.cases.includes('download')) {
    // The file to download is uploaded once, untimed (this also warms the server up).
    await stepdUpload(target, source, 'bench-download-source');
    cases.set('download', {
      server,
      bytes: options.size,
      run: async (run) => {
        const output = join(root, `download-${run}.bin`);
        await stepdDownload(target, 'bench-download-source', output);
        await rm(output);
      },
    });
  }
  if (options.cases.includes('concurrent')) {
    // Its own server, so the memory 64 uploads leave behind does not count in the upload case's RSS.
    const own = await startServer(ctx, (root, nodeArgs) => startStepd(root, nodeArgs, 'stepd-concurrent-data'));
    const ownTarget = { ...target, port: own.port };
    const fileBytes = options.smoke ? 64 * 1024 + 1 : CONCURRENT_FILE_BYTES;
    const dir = join(root, 'concurrent');
    await mkdir(dir, { recursive: true });
    const files = Array.from({ length: CONCURRENT_CLIENTS }, (_, i) => join(dir, `client-${i}.bin`));
    for (const file of files) await writeRandomFile(file, fileBytes);
    cases.set('concurrent', {
      server: own,
      bytes: fileBytes * CONCURRENT_CLIENTS,
      run: async (run) => {
        // One user per client, as 64 people would be: per-user limits do not all fall on one user.
        const clients = files.map((file, i) => ({ file, key: `bench-concurrent-${run}`, target: { ...ownTarget, user: `bench-${i}` } }));
        await Promise.all(clients.map((c) => stepdUpload(c.target, c.file, c.key)));
        await Promise.all(clients.map((c) => stepdDelete(c.target, c.key)));
      },
    });
  }
}
