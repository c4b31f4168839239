import { median } from './median.js';
import { SMALL_CASE_NAMES, type SmallCaseName } from './small-requests.js';

/** Rate and cost of one small-request case over its runs. */
export interface SmallCaseStats {
  /** Lock-step connections, one request in flight on each. */
  connections: number;
  /** Operations per run over all connections. */
  operations: number;
  /** Requests one operation makes (2 for a DATA SAVE+GET pair). */
  requests_per_operation: number;
  /** Operations per second: median, min and max over runs. */
  median: number;
  min: number;
  max: number;
  seconds: number[];
  /** Median requests per second (operations per second x requests per operation). */
  requests_per_second: number;
  /** CPU microseconds the server process spent per request (user + system, all its threads), median over runs. */
  server_cpu_us_per_request: number | null;
  /** The same for the clients, which all run in the bench process. */
  client_cpu_us_per_request: number | null;
}

/** What one small case did and cost in each run. */
export interface SmallCaseSamples {
  connections: number;
  operations: number;
  requestsPerOperation: number;
  seconds: number[];
  serverCpu: number[];
  clientCpu: number[];
}

/** Rates and CPU per request of one small case from its runs. */
export function smallCaseStats(samples: SmallCaseSamples): SmallCaseStats {
  const { operations, requestsPerOperation: perOp, seconds } = samples;
  const rates = seconds.map((s) => operations / s).sort((a, b) => a - b);
  const requests = operations * perOp;
  const perRequest = (list: number[]) => (list.length ? median(list.map((s) => (s * 1e6) / requests)) : null);
  return {
    connections: samples.connections,
    operations,
    requests_per_operation: perOp,
    median: median(rates),
    min: rates[0],
    max: rates[rates.length - 1],
    seconds,
    requests_per_second: median(rates) * perOp,
    server_cpu_us_per_request: perRequest(samples.serverCpu),
    client_cpu_us_per_request: perRequest(samples.clientCpu),
  };
}

const LABELS: Record<SmallCaseName, string> = {
  'login-1': 'LOGIN',
  'login-32': 'LOGIN',
  'data-1': 'DATA SAVE+GET pair',
  'data-32': 'DATA SAVE+GET pair',
  'status-1': 'FILE STATUS (unfinished upload)',
  'status-32': 'FILE STATUS (unfinished upload)',
  'get-1': 'FILE GET (download plan)',
  'get-32': 'FILE GET (download plan)',
};

const fmt = (n: number | null, digits = 0) => (n === null ? '-' : n.toFixed(digits));

/** The small-request table: operations per second and CPU per request. */
export function formatSmallTable(small: Partial<Record<SmallCaseName, SmallCaseStats>>): string {
  const header = ['small requests (lock-step)', 'conns', 'ops/s median (min-max)', 'requests/s', 'server CPU us/request', 'client'];
  const rows: string[][] = [];
  for (const name of SMALL_CASE_NAMES) {
    const stats = small[name];
    if (!stats) continue;
    const range = `${stats.median.toFixed(0)} (${stats.min.toFixed(0)}-${stats.max.toFixed(0)})`;
    const cpu = [fmt(stats.server_cpu_us_per_request), fmt(stats.client_cpu_us_per_request)];
    rows.push([LABELS[name], String(stats.connections), range, stats.requests_per_second.toFixed(0), ...cpu]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
    'one request in flight per connection; a DATA operation is a SAVE and a GET of the same key (2 requests)',
  ].join('\n');
}
