/**
 * `npm run bench`: measures stepd against a raw-TCP baseline and a tus peer on loopback, each
 * case several times, round-robin, and prints medians (see README, "Performance").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { ExitCode } from '../src/common/exit-code.js';
import { BLOCK_SIZE, CONNECTIONS, prepareCases, type BenchContext } from './bench-cases.js';
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions, type CaseName } from './bench-options.js';
import { caseStats, formatTable, ratio, type BenchResult, type CaseSamples } from './bench-report.js';
import { cpuSecondsOf, PeakRssSampler, stopChild } from './child-process.js';
import { startBaseline, startStepd, type BenchServer } from './bench-servers.js';
import { smallCaseStats, type SmallCaseSamples } from './small-report.js';
import { prepareSmallCases, type SmallCase, type SmallCaseName } from './small-requests.js';
import { writeRandomFile } from './random-file.js';
import { runShapedLinks, type ShapedLinkResult } from './shaped-links.js';

/** How long an interrupted bench waits for its clean-ups (dropping databases) before it exits. */
const INTERRUPT_CLEANUP_MS = 10_000;

async function bench(options: BenchOptions): Promise<BenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'stepd-bench-'));
  const ctx: BenchContext = {
    options,
    root,
    source: join(root, 'source.bin'),
    servers: [],
    cleanups: [],
    result: {
      size_bytes: options.size,
      runs: options.runs,
      unit: 'MB/s, MB = 10^6 bytes',
      block_size: BLOCK_SIZE,
      connections: CONNECTIONS,
      engine: null,
      balancer: null,
      cases: {},
      small: {},
      skipped: {},
      ratios: {
        upload_vs_baseline: null,
        upload_vs_peer: null,
        download_vs_baseline: null,
        legacy_vs_baseline: null,
        concurrent_vs_upload: null,
        legacy_parallel_vs_legacy: null,
        pg_upload_vs_upload: null,
        pg_balanced_vs_upload: null,
        pg_legacy_vs_legacy: null,
        pg_legacy_parallel_vs_legacy_parallel: null,
      },
      server_peak_rss_bytes: null,
      shaped: [],
    },
  };
  const { result } = ctx;
  // Ctrl-C or a test timeout: the server children, the temp dir and the PostgreSQL cases'
  // databases (the clean-ups) must not outlive the bench; a clean-up that hangs is given up on.
  const interrupted = (signal: NodeJS.Signals) => {
    for (const server of ctx.servers) server.child.kill('SIGKILL');
    const cleanups = Promise.allSettled(ctx.cleanups.splice(0).map((cleanup) => cleanup()));
    void Promise.race([cleanups, delay(INTERRUPT_CLEANUP_MS)])
      .then(() => rm(root, { recursive: true, force: true }))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await writeRandomFile(ctx.source, options.size);
    const cases = await prepareCases(ctx);
    const smallCases = await smallCasesOf(ctx);
    const seconds = new Map<CaseName, number[]>();
    const samples = new Map<CaseName, Required<CaseSamples>>();
    const sampled = (name: CaseName) =>
      samples.get(name) ?? samples.set(name, { serverCpu: [], clientCpu: [], serverPeakRss: [] }).get(name)!;
    const smallSamples = new Map<SmallCaseName, SmallCaseSamples>();
    // Round-robin: every round runs each case once, so drift on the shared VM hits all alike.
    for (let run = 1; run <= options.runs; run++) {
      for (const [name, { server, others, bytes, run: runCase }] of cases) {
        const measured = await measure(server, () => runCase(run), true, others);
        seconds.set(name, [...(seconds.get(name) ?? []), measured.seconds]);
        const sample = sampled(name);
        sample.clientCpu.push(measured.clientCpu);
        // Includes the untimed clean-up (DELETE or unlink), which is small next to a transfer.
        sample.serverCpu.push(measured.serverCpu);
        sample.serverPeakRss.push(measured.peakRss);
        if (!options.json) console.error(`run ${run}/${options.runs} ${name}: ${(bytes / measured.seconds / 1e6).toFixed(0)} MB/s`);
      }
      for (const [name, small] of smallCases) {
        // Connections and logins are set up outside the timed and CPU-counted window.
        await small.setUp(run);
        const measured = await measure(small.server, () => small.run(run), false);
        small.tearDown();
        const { connections, operations, requestsPerOperation } = small;
        const sample: SmallCaseSamples = smallSamples.get(name) ?? {
          connections,
          operations,
          requestsPerOperation,
          seconds: [],
          serverCpu: [],
          clientCpu: [],
        };
        smallSamples.set(name, sample);
        sample.seconds.push(measured.seconds);
        sample.serverCpu.push(measured.serverCpu);
        sample.clientCpu.push(measured.clientCpu);
        if (!options.json) console.error(`run ${run}/${options.runs} ${name}: ${(small.operations / measured.seconds).toFixed(0)} ops/s`);
      }
    }
    for (const [name, sample] of smallSamples) result.small[name] = smallCaseStats(sample);
    for (const [name, list] of seconds) result.cases[name] = caseStats(cases.get(name)!.bytes, list, samples.get(name));
    result.server_peak_rss_bytes = result.cases.upload?.server_peak_rss_bytes ?? null;
    if (options.cases.includes('shaped')) result.shaped = await shapedCase(ctx);
    result.ratios = {
      upload_vs_baseline: ratio(result, 'upload', 'baseline'),
      upload_vs_peer: ratio(result, 'upload', 'peer'),
      download_vs_baseline: ratio(result, 'download', 'baseline'),
      legacy_vs_baseline: ratio(result, 'legacy', 'legacy-baseline'),
      concurrent_vs_upload: ratio(result, 'concurrent', 'upload'),
      legacy_parallel_vs_legacy: ratio(result, 'legacy-8', 'legacy'),
      pg_upload_vs_upload: ratio(result, 'pg-upload', 'upload'),
      pg_balanced_vs_upload: ratio(result, 'pg-balanced', 'upload'),
      pg_legacy_vs_legacy: ratio(result, 'pg-legacy', 'legacy'),
      pg_legacy_parallel_vs_legacy_parallel: ratio(result, 'pg-legacy-8', 'legacy-8'),
    };
    return result;
  } finally {
    await Promise.all(ctx.servers.map((s) => stopChild(s)));
    for (const cleanup of ctx.cleanups) await cleanup().catch((err: Error) => console.error(`bench clean-up: ${err.message}`));
    await rm(root, { recursive: true, force: true });
  }
}

/** The small-request cases, on a stepd of their own so that the transfers' heap and files do not weigh on them. */
async function smallCasesOf(ctx: BenchContext): Promise<Map<SmallCaseName, SmallCase>> {
  if (ctx.options.smallCases.length === 0) return new Map();
  const nodeArgs = ctx.options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.options.cpuProfileDir] : [];
  const server = await startStepd(ctx.root, nodeArgs, 'stepd-small-data');
  ctx.servers.push(server);
  return prepareSmallCases(server, ctx.root, ctx.options.smallCases, ctx.options.smoke);
}

/**
 * What one timed call cost: wall time, server and client CPU seconds, the server's peak RSS (when
 * sampled). The CPU time of `others` (further instances serving the case) counts as the server's.
 */
async function measure(server: BenchServer, work: () => Promise<void>, sampleRss: boolean, others: BenchServer[] = []) {
  const rss = sampleRss ? new PeakRssSampler(server.child.pid!) : null;
  await rss?.start();
  const serverCpu = async () => (await Promise.all([server, ...others].map((s) => cpuSecondsOf(s.child.pid!)))).reduce((a, b) => a + b, 0);
  const cpuBefore = await serverCpu();
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const clientUsed = process.cpuUsage(clientBefore);
  const serverUsed = (await serverCpu()) - cpuBefore;
  return { seconds, serverCpu: serverUsed, clientCpu: (clientUsed.user + clientUsed.system) / 1e6, peakRss: (await rss?.stop()) ?? 0 };
}

/** The shaped-link case on servers of its own (see bench/shaped-links.ts). */
async function shapedCase(ctx: BenchContext): Promise<ShapedLinkResult[]> {
  const baseline = await startBaseline(ctx.root);
  ctx.servers.push(baseline);
  const stepd = await startStepd(ctx.root, [], 'stepd-shaped-data');
  ctx.servers.push(stepd);
  const log = (line: string) => (ctx.options.json ? undefined : console.error(line));
  return runShapedLinks({ options: ctx.options, root: ctx.root, baseline, stepd, user: 'bench' }, log);
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    if (err.message) console.error(err.message);
    console.error(USAGE);
    process.exit(err.message ? ExitCode.USAGE : ExitCode.OK);
  }
  const result = await bench(options);
  console.log(options.json ? JSON.stringify(result, null, 2) : formatTable(result));
}

main().catch((err: unknown) => {
  console.error('bench failed:', (err as Error)?.stack ?? err);
  process.exit(ExitCode.FAILED);
});
