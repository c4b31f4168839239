import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineUpload, type BaselineUploadOptions } from './baseline-client.js';
import { CASE_NAMES, type BenchOptions, type CaseName } from './bench-options.js';
import type { BenchResult } from './bench-report.js';
import { startBaseline, startStepd, startTus, type BenchServer } from './bench-servers.js';
import { writeRandomFile } from './random-file.js';
import type { StepdClientEngine, StepdTarget } from './stepd-engine.js';
import { findStepdEngine } from './stepd-engines.js';
import { LEGACY_BLOCK_SIZE, LEGACY_READ_BYTES, legacyUpload, stepdDelete } from './stepd-legacy.js';
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

/** One timed case. */
export interface BenchCase {
  /** The server process the case talks to (its CPU time is recorded). */
  server: BenchServer;
  /** Bytes one run moves. */
  bytes: number;
  /** Whether the client runs in the bench process (then its CPU time is recorded). */
  clientInProcess: boolean;
  /** Runs once; resolves with the client's own timing when it has one (else wall time counts). */
  run(run: number): Promise<number | undefined>;
}

/** Where the cases keep their files and servers. */
export interface BenchContext {
  options: BenchOptions;
  root: string;
  /** The random test file. */
  source: string;
  servers: BenchServer[];
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
      clientInProcess: true,
      run: async () => {
        const { storedPath } = await tusUpload({ port: server.port, file: source, storeDir: server.dataDir, chunkSize: TUS_CHUNK_SIZE });
        await Promise.all([rm(storedPath), rm(`${storedPath}.json`, { force: true })]);
        return undefined;
      },
    });
  }
  if (!['upload', 'download', 'legacy', 'concurrent'].some((n) => wants(n as CaseName))) return cases;
  const server = await startServer(ctx, startStepd);
  const target: StepdTarget = { host: '127.0.0.1', port: server.port, user: 'bench' };
  const engine = await findStepdEngine();
  ctx.result.engine = engine?.description ?? null;
  if (engine) await addEngineCases(ctx, cases, engine, target, server);
  else {
    for (const name of ['upload', 'download', 'concurrent'] as const) {
      if (wants(name)) ctx.result.skipped[name] = 'the stepd client engine (src/client, issue 4) is not built yet';
    }
  }
  if (wants('legacy')) {
    cases.set('legacy', {
      server,
      bytes: size,
      clientInProcess: true,
      run: async (run) => {
        await legacyUpload(target, source, `bench-legacy-${run}`);
        await stepdDelete(target, `bench-legacy-${run}`);
        return undefined;
      },
    });
  }
  return new Map(CASE_NAMES.filter((name) => cases.has(name)).map((name) => [name, cases.get(name)!]));
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
    clientInProcess: true,
    run: async (run) => {
      await baselineUpload({ port: server.port, file: ctx.source, transferId: run, ...shape });
      await rm(join(server.dataDir, `baseline-${run}`));
      return undefined;
    },
  };
}

async function startServer(ctx: BenchContext, start: (root: string, extraArgs: string[]) => Promise<BenchServer>): Promise<BenchServer> {
  const server = await start(ctx.root, ctx.options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.options.cpuProfileDir] : []);
  ctx.servers.push(server);
  return server;
}

/** Cases driven by the real client engine: upload, download, many clients. */
async function addEngineCases(
  ctx: BenchContext,
  cases: Map<CaseName, BenchCase>,
  engine: StepdClientEngine,
  target: StepdTarget,
  server: BenchServer,
): Promise<void> {
  const { options, root, source, result } = ctx;
  if (options.cases.includes('upload')) {
    cases.set('upload', {
      server,
      bytes: options.size,
      clientInProcess: engine.inProcess,
      run: async (run) => {
        const { seconds } = await engine.upload(target, source, `bench-upload-${run}`);
        await stepdDelete(target, `bench-upload-${run}`);
        return seconds;
      },
    });
  }
  if (options.cases.includes('download')) {
    // The file to download is uploaded once, untimed (this also warms the server up).
    await engine.upload(target, source, 'bench-download-source');
    cases.set('download', {
      server,
      bytes: options.size,
      clientInProcess: engine.inProcess,
      run: async (run) => {
        const output = join(root, `download-${run}.bin`);
        const { seconds } = await engine.download(target, 'bench-download-source', output);
        await rm(output);
        return seconds;
      },
    });
  }
  if (options.cases.includes('concurrent')) {
    if (!engine.inProcess) {
      result.skipped.concurrent = `needs the in-process client engine (have: ${engine.description})`;
      return;
    }
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
      clientInProcess: true,
      run: async (run) => {
        // One user per client, as 64 people would be: per-user limits do not all fall on one user.
        const clients = files.map((file, i) => ({ file, key: `bench-concurrent-${run}`, target: { ...ownTarget, user: `bench-${i}` } }));
        await Promise.all(clients.map((c) => engine.upload(c.target, c.file, c.key)));
        await Promise.all(clients.map((c) => stepdDelete(c.target, c.key)));
        return undefined;
      },
    });
  }
}
