/**
 * `npm run bench`: measures stepd against a raw-TCP baseline and a tus peer on loopback, each
 * case several times, round-robin, and prints medians (see README, "Performance").
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineUpload } from './baseline-client.js';
import { parseBenchOptions, USAGE, UsageError, type BenchOptions, type CaseName } from './bench-options.js';
import { caseStats, formatTable, ratio, type BenchResult } from './bench-report.js';
import { startBaseline, startStepd, startTus, type BenchServer } from './bench-servers.js';
import { cpuSecondsOf, PeakRssSampler, stopChild } from './child-process.js';
import { findStepdEngine } from './stepd-engines.js';
import type { StepdClientEngine, StepdTarget } from './stepd-engine.js';
import { legacyUpload, stepdDelete } from './stepd-legacy.js';
import { tusUpload } from './tus-client.js';

/** The stepd client's defaults the baseline mirrors (issue 4: 4 MiB blocks, 4 connections). */
const BLOCK_SIZE = 4 * 1024 * 1024;
const CONNECTIONS = 4;
/** Requests in flight per baseline connection. */
const WINDOW = 2;
const TUS_CHUNK_SIZE = BLOCK_SIZE;

/** One timed case: resolves with the client's own timing when it has one (else wall time counts). */
interface CaseRun {
  /** The server process the case talks to (its CPU time is recorded). */
  server: BenchServer;
  run(run: number): Promise<number | undefined>;
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 * 1024 * 1024));
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(chunk.length, size - written);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
}

async function bench(options: BenchOptions): Promise<BenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'stepd-bench-'));
  const servers: BenchServer[] = [];
  const wants = (name: CaseName) => options.cases.includes(name);
  const result: BenchResult = {
    size_bytes: options.size,
    runs: options.runs,
    unit: 'MB/s, MB = 10^6 bytes',
    block_size: BLOCK_SIZE,
    connections: CONNECTIONS,
    engine: null,
    cases: {},
    skipped: {},
    ratios: { upload_vs_baseline: null, upload_vs_peer: null, download_vs_baseline: null, legacy_vs_baseline: null },
    server_peak_rss_bytes: null,
  };
  try {
    const source = join(root, 'source.bin');
    await writeRandomFile(source, options.size);
    const runs = new Map<CaseName, CaseRun>();

    if (wants('baseline')) {
      const server = await startBaseline(root);
      servers.push(server);
      runs.set('baseline', {
        server,
        run: async (run) => {
          await baselineUpload({
            port: server.port,
            file: source,
            transferId: run,
            blockSize: BLOCK_SIZE,
            connections: CONNECTIONS,
            window: WINDOW,
          });
          await rm(join(server.dataDir, `baseline-${run}`));
          return undefined;
        },
      });
    }
    if (wants('peer')) {
      const server = await startTus(root);
      servers.push(server);
      runs.set('peer', {
        server,
        run: async () => {
          const { storedPath } = await tusUpload({ port: server.port, file: source, storeDir: server.dataDir, chunkSize: TUS_CHUNK_SIZE });
          await Promise.all([rm(storedPath), rm(`${storedPath}.json`, { force: true })]);
          return undefined;
        },
      });
    }
    if (wants('upload') || wants('download') || wants('legacy')) {
      const server = await startStepd(root);
      servers.push(server);
      const target: StepdTarget = { host: '127.0.0.1', port: server.port, user: 'bench' };
      const engine = await findStepdEngine();
      result.engine = engine?.description ?? null;
      if (engine) await addEngineCases(options, runs, result, engine, target, server, source, root);
      else {
        for (const name of ['upload', 'download'] as const) {
          if (wants(name)) result.skipped[name] = 'the stepd client engine (src/client, issue 4) is not built yet';
        }
      }
      if (wants('legacy')) {
        runs.set('legacy', {
          server,
          run: async (run) => {
            await legacyUpload(target, source, `bench-legacy-${run}`);
            await stepdDelete(target, `bench-legacy-${run}`);
            return undefined;
          },
        });
      }
    }

    // Round-robin: every round runs each case once, so drift on the shared VM hits all alike.
    const seconds = new Map<CaseName, number[]>();
    const serverCpu = new Map<CaseName, number[]>();
    const record = (map: Map<CaseName, number[]>, name: CaseName, value: number) => map.set(name, [...(map.get(name) ?? []), value]);
    for (let run = 1; run <= options.runs; run++) {
      for (const [name, { server, run: caseRun }] of runs) {
        const cpuBefore = await cpuSecondsOf(server.child.pid!);
        const started = process.hrtime.bigint();
        const own = await caseRun(run);
        const wall = Number(process.hrtime.bigint() - started) / 1e9;
        record(seconds, name, own ?? wall);
        // Includes the untimed clean-up (one DELETE or unlink), which is small next to a transfer.
        record(serverCpu, name, (await cpuSecondsOf(server.child.pid!)) - cpuBefore);
        if (!options.json) console.error(`run ${run}/${options.runs} ${name}: ${(options.size / (own ?? wall) / 1e6).toFixed(0)} MB/s`);
      }
    }
    for (const [name, list] of seconds) result.cases[name] = caseStats(options.size, list, serverCpu.get(name));
    result.ratios = {
      upload_vs_baseline: ratio(result, 'upload', 'baseline'),
      upload_vs_peer: ratio(result, 'upload', 'peer'),
      download_vs_baseline: ratio(result, 'download', 'baseline'),
      legacy_vs_baseline: ratio(result, 'legacy', 'baseline'),
    };
    return result;
  } finally {
    await Promise.all(servers.map((s) => stopChild(s)));
    await rm(root, { recursive: true, force: true });
  }
}

/** The upload (with the server's peak RSS) and download cases through the real client engine. */
async function addEngineCases(
  options: BenchOptions,
  runs: Map<CaseName, CaseRun>,
  result: BenchResult,
  engine: StepdClientEngine,
  target: StepdTarget,
  server: BenchServer,
  source: string,
  root: string,
): Promise<void> {
  if (options.cases.includes('upload')) {
    const rss = new PeakRssSampler(server.child.pid!);
    runs.set('upload', {
      server,
      run: async (run) => {
        await rss.start();
        const { seconds } = await engine.upload(target, source, `bench-upload-${run}`);
        result.server_peak_rss_bytes = Math.max(result.server_peak_rss_bytes ?? 0, await rss.stop());
        await stepdDelete(target, `bench-upload-${run}`);
        return seconds;
      },
    });
  }
  if (options.cases.includes('download')) {
    // The file to download is uploaded once, untimed (this also warms the server up).
    await engine.upload(target, source, 'bench-download-source');
    runs.set('download', {
      server,
      run: async (run) => {
        const output = join(root, `download-${run}.bin`);
        const { seconds } = await engine.download(target, 'bench-download-source', output);
        await rm(output);
        return seconds;
      },
    });
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) console.error(err.message);
    console.error(USAGE);
    process.exit(err.message ? 2 : 0);
  }
  const result = await bench(options);
  console.log(options.json ? JSON.stringify(result, null, 2) : formatTable(result));
}

main().catch((err: unknown) => {
  console.error('bench failed:', (err as Error)?.stack ?? err);
  process.exit(1);
});
