import type { CaseName } from './bench-options.js';
import { median } from './median.js';
import { formatShapedTable, type ShapedLinkResult } from './shaped-links.js';
import { formatSmallTable, type SmallCaseStats } from './small-report.js';
import type { SmallCaseName } from './small-requests.js';
import { LEGACY_BLOCK_SIZE } from './stepd-legacy.js';

/** Throughput of one case over its runs, in MB/s (10^6 bytes per second). */
export interface CaseStats {
  median: number;
  min: number;
  max: number;
  seconds: number[];
  /**
   * CPU seconds the server process spent per GB (10^9 bytes) moved, median over runs: far less
   * sensitive than MB/s to other load on a shared machine.
   */
  server_cpu_seconds_per_gb: number | null;
  /** The same for the client (every client runs in the bench process). */
  client_cpu_seconds_per_gb: number | null;
  /** Peak resident set size of the server process during this case's runs. */
  server_peak_rss_bytes: number | null;
}

/** Everything one bench invocation measured. */
export interface BenchResult {
  size_bytes: number;
  runs: number;
  unit: 'MB/s, MB = 10^6 bytes';
  block_size: number;
  connections: number;
  /** How stepd's client was driven; null when no stepd case ran. */
  engine: string | null;
  /** What balanced the pg-balanced case (haproxy or the round-robin proxy); null when it did not run. */
  balancer: string | null;
  cases: Partial<Record<CaseName, CaseStats>>;
  /** The small-request cases, in operations per second and server CPU per request. */
  small: Partial<Record<SmallCaseName, SmallCaseStats>>;
  /** Cases that could not run, with the reason: none do any more; kept so the JSON keeps its shape. */
  skipped: Partial<Record<CaseName, string>>;
  ratios: {
    upload_vs_baseline: number | null;
    upload_vs_peer: number | null;
    download_vs_baseline: number | null;
    /** Legacy mode over the raw pipeline with the same shape (20480 B, one in flight). */
    legacy_vs_baseline: number | null;
    /** Aggregate of 64 clients x 8 MiB over one client's upload (target >= 0.7). */
    concurrent_vs_upload: number | null;
    /** Aggregate of 8 parallel legacy clients over one legacy client. */
    legacy_parallel_vs_legacy: number | null;
    /** One instance on PostgreSQL over the SQLite upload of the same run (issue 16: >= 0.9). */
    pg_upload_vs_upload: number | null;
    /** Two PostgreSQL instances behind the balancer over one SQLite instance (>= 0.8 on 2 cores). */
    pg_balanced_vs_upload: number | null;
    /** The lock-step legacy client on PostgreSQL over the same on SQLite (>= 0.8). */
    pg_legacy_vs_legacy: number | null;
    /** 8 lock-step legacy clients at once on PostgreSQL over the same on SQLite (a class of old clients). */
    pg_legacy_parallel_vs_legacy_parallel: number | null;
  };
  /** Peak resident set size of the stepd server during the upload runs. */
  server_peak_rss_bytes: number | null;
  /** The `shaped` case: raw TCP against stepd over user-space shaped links. */
  shaped: ShapedLinkResult[];
}

/** What the bench observed around the runs of one case, besides their duration. */
export interface CaseSamples {
  serverCpu?: number[];
  clientCpu?: number[];
  serverPeakRss?: number[];
}

/** Throughput and resource figures of one case from its runs. */
export function caseStats(bytes: number, seconds: number[], samples: CaseSamples = {}): CaseStats {
  const rates = seconds.map((s) => bytes / s / 1e6).sort((a, b) => a - b);
  const perGb = (list?: number[]) => (list?.length ? median(list.map((s) => s / (bytes / 1e9))) : null);
  return {
    median: median(rates),
    min: rates[0],
    max: rates[rates.length - 1],
    seconds,
    server_cpu_seconds_per_gb: perGb(samples.serverCpu),
    client_cpu_seconds_per_gb: perGb(samples.clientCpu),
    server_peak_rss_bytes: samples.serverPeakRss?.length ? Math.max(...samples.serverPeakRss) : null,
  };
}

/** Ratio of two cases' medians, or null when either is missing. */
export function ratio(result: Pick<BenchResult, 'cases'>, a: CaseName, b: CaseName): number | null {
  const x = result.cases[a];
  const y = result.cases[b];
  return x && y ? x.median / y.median : null;
}

/**
 * Server CPU per 20480-byte block of a lock-step client, in microseconds (issue 17's gauge), from
 * a legacy-shaped case's CPU seconds per GB; null when the case did not run or was not measured.
 */
export function legacyBlockCpuMicros(stats: CaseStats | undefined): number | null {
  const perGb = stats?.server_cpu_seconds_per_gb;
  return perGb === null || perGb === undefined ? null : (perGb * LEGACY_BLOCK_SIZE) / 1e3;
}

/** The per-block CPU line under the table, when the legacy case ran. */
function legacyBlockCpuLine(result: BenchResult): string[] {
  const stepd = legacyBlockCpuMicros(result.cases.legacy);
  if (stepd === null) return [];
  const raw = legacyBlockCpuMicros(result.cases['legacy-baseline']);
  const against = raw === null ? '' : `, raw lock-step baseline ${raw.toFixed(0)} us (${(stepd / raw).toFixed(2)}x)`;
  return [`server CPU per ${LEGACY_BLOCK_SIZE}-byte block: stepd legacy ${stepd.toFixed(0)} us${against}`];
}

const LABELS: Record<CaseName, string> = {
  baseline: 'baseline (raw TCP, same blocks/conns)',
  peer: 'peer: tus upload + MD5',
  upload: 'stepd upload (default client)',
  download: 'stepd download (default client)',
  'legacy-baseline': 'baseline, legacy shape (20480 B, 1 conn, 1 in flight)',
  legacy: 'stepd legacy (20480 B, 1 in flight)',
  'legacy-8': 'stepd 8 legacy clients at once (aggregate)',
  concurrent: 'stepd 64 clients x 8 MiB (aggregate)',
  'pg-upload': 'stepd upload, PostgreSQL',
  'pg-balanced': 'stepd upload, 2 PostgreSQL instances, balancer',
  'pg-legacy': 'stepd legacy, PostgreSQL',
  'pg-legacy-8': 'stepd 8 legacy clients at once, PostgreSQL',
  shaped: 'shaped links (table below)',
};

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(bytes < 1024 ** 2 ? 2 : 0)} MiB`;
const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined ? '-' : n.toFixed(digits));

/** The human-readable table. */
export function formatTable(result: BenchResult): string {
  const header = ['case', 'MB/s median (min-max)', 'vs baseline', 'vs peer', 'CPU s/GB server', 'client', 'server peak RSS'];
  const rows: string[][] = [];
  for (const [name, label] of Object.entries(LABELS) as [CaseName, string][]) {
    const stats = result.cases[name];
    if (!stats) continue;
    const vsBase =
      name === 'legacy'
        ? ratio(result, name, 'legacy-baseline')
        : ['baseline', 'concurrent', 'legacy-8', 'pg-legacy', 'pg-legacy-8'].includes(name)
          ? null
          : ratio(result, name, 'baseline');
    const vsPeer = name === 'upload' || name === 'legacy' ? ratio(result, name, 'peer') : null;
    const range = `${stats.median.toFixed(0)} (${stats.min.toFixed(0)}-${stats.max.toFixed(0)})`;
    const cpu = [fmt(stats.server_cpu_seconds_per_gb), fmt(stats.client_cpu_seconds_per_gb)];
    const rss = stats.server_peak_rss_bytes ? mib(stats.server_peak_rss_bytes) : '-';
    rows.push([label, range, fmt(vsBase), fmt(vsPeer), ...cpu, rss]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const notes = 'vs baseline: legacy is compared with the legacy-shaped baseline, the others with the 4 MiB x 4 one';
  const lines = [
    `stepd bench: ${mib(result.size_bytes)} file, ${result.runs} run(s) per case, round-robin; MB = 10^6 bytes`,
    `blocks ${mib(result.block_size)} x ${result.connections} connections; stepd client: ${result.engine ?? 'none'}`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
    notes,
    `stepd server peak RSS during upload: ${result.server_peak_rss_bytes === null ? '-' : mib(result.server_peak_rss_bytes)}`,
    `64 clients aggregate / single-client upload: ${fmt(result.ratios.concurrent_vs_upload)}`,
    `8 legacy clients aggregate / one legacy client: ${fmt(result.ratios.legacy_parallel_vs_legacy)}`,
    ...legacyBlockCpuLine(result),
    ...(result.ratios.pg_upload_vs_upload === null ? [] : [`PostgreSQL upload / SQLite upload: ${fmt(result.ratios.pg_upload_vs_upload)}`]),
    ...(result.ratios.pg_balanced_vs_upload === null
      ? []
      : [`2 PostgreSQL instances (${result.balancer ?? '-'}) / SQLite upload: ${fmt(result.ratios.pg_balanced_vs_upload)}`]),
    ...(result.ratios.pg_legacy_vs_legacy === null ? [] : [`PostgreSQL legacy / SQLite legacy: ${fmt(result.ratios.pg_legacy_vs_legacy)}`]),
    ...(result.ratios.pg_legacy_parallel_vs_legacy_parallel === null
      ? []
      : [`8 legacy clients, PostgreSQL / SQLite: ${fmt(result.ratios.pg_legacy_parallel_vs_legacy_parallel)}`]),
    ...(Object.keys(result.small).length ? ['', formatSmallTable(result.small)] : []),
    ...(result.shaped.length ? ['', formatShapedTable(result.shaped)] : []),
  ];
  return lines.join('\n');
}
