import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CASE_NAMES } from '../bench/bench-options.js';
import type { BenchResult } from '../bench/bench-report.js';
import { SMALL_CASE_NAMES } from '../bench/small-requests.js';
import { queryOn, resolvePostgresServer } from './helpers/postgres-server.js';

const BENCH_ENTRY = fileURLToPath(new URL('../dist/bench/main.js', import.meta.url));
const BOUND_MS = 180_000;

/** Runs the built bench (needs `npm run build`) and parses its --json output. */
function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BENCH_ENTRY, ...args],
      { timeout: BOUND_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

// A smoke run only: it proves every case works end to end, never how fast (no timing assertions).
describe('npm run bench --smoke', () => {
  it('measures every case on a tiny file and reports positive throughput as JSON', { timeout: BOUND_MS + 10_000 }, async () => {
    const { code, stdout, stderr } = await runBench(['--smoke', '--json']);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as BenchResult;
    // The shaped links are asked for by name (they take minutes); see the next test.
    const expected = CASE_NAMES.filter((n) => n !== 'shaped' && !n.startsWith('pg-'));
    expect(result.engine).toEqual(expect.any(String));
    expect(result.skipped).toEqual({});
    for (const name of expected) {
      const stats = result.cases[name];
      expect(stats, `case ${name}`).toBeDefined();
      expect(stats!.seconds).toHaveLength(1);
      expect(stats!.median).toBeGreaterThan(0);
      // Every client runs in the bench process, so its CPU time is known.
      expect(stats!.client_cpu_seconds_per_gb, `client CPU of ${name}`).not.toBeNull();
    }
    // The small-request cases: lock-step clients over 1 and 32 connections, CPU per request from the server child.
    for (const name of SMALL_CASE_NAMES) {
      const stats = result.small[name];
      expect(stats, `small case ${name}`).toBeDefined();
      expect(stats!.connections).toBe(Number(name.split('-')[1]));
      expect(stats!.seconds).toHaveLength(1);
      expect(stats!.median).toBeGreaterThan(0);
      expect(stats!.requests_per_second).toBe(stats!.median * stats!.requests_per_operation);
      expect(stats!.server_cpu_us_per_request, `server CPU of ${name}`).not.toBeNull();
      expect(stats!.client_cpu_us_per_request, `client CPU of ${name}`).not.toBeNull();
    }
    expect(result.small['data-1']!.requests_per_operation).toBe(2);
    expect(result.ratios.legacy_parallel_vs_legacy).toBeGreaterThan(0);
    expect(result.ratios.legacy_vs_baseline).toBeGreaterThan(0);
    expect(result.ratios.upload_vs_baseline).toBeGreaterThan(0);
    expect(result.server_peak_rss_bytes).toBeGreaterThan(0);
  });

  it(
    'runs the PostgreSQL cases (one instance, two behind the balancer, legacy) next to their SQLite counterparts, and drops its databases',
    { timeout: BOUND_MS + 30_000 },
    async () => {
      // The machine's server, STEP_TEST_DATABASE_URL or an embedded one: never skipped.
      const server = await resolvePostgresServer();
      try {
        const before = await benchDatabases(server.adminUrl);
        const { code, stdout, stderr } = await runBench([
          '--smoke',
          '--json',
          '--cases',
          'upload,legacy,legacy-8,pg',
          '--database-url',
          server.adminUrl,
        ]);
        expect(code, stderr).toBe(0);
        const result = JSON.parse(stdout) as BenchResult;
        for (const name of ['pg-upload', 'pg-balanced', 'pg-legacy', 'pg-legacy-8'] as const) {
          expect(result.cases[name]?.median, `case ${name}`).toBeGreaterThan(0);
          expect(result.cases[name]!.server_cpu_seconds_per_gb, `server CPU of ${name}`).toBeGreaterThan(0);
        }
        expect(result.balancer).toMatch(/^(haproxy|round-robin proxy)/);
        expect(result.ratios.pg_upload_vs_upload).toBeGreaterThan(0);
        expect(result.ratios.pg_balanced_vs_upload).toBeGreaterThan(0);
        expect(result.ratios.pg_legacy_vs_legacy).toBeGreaterThan(0);
        expect(result.ratios.pg_legacy_parallel_vs_legacy_parallel).toBeGreaterThan(0);
        expect(await benchDatabases(server.adminUrl)).toEqual(before);
      } finally {
        await server.stop();
      }
    },
  );

  it('drops its PostgreSQL database and exits 130 when interrupted with Ctrl-C mid-case', { timeout: BOUND_MS }, async () => {
    const server = await resolvePostgresServer();
    try {
      const child = spawn(
        process.execPath,
        [BENCH_ENTRY, '--size', '256MiB', '--runs', '1', '--cases', 'pg-legacy', '--database-url', server.adminUrl],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // Its database is named after its pid; other benches on the machine have other pids.
      const ours = async () => (await benchDatabases(server.adminUrl)).filter((name) => name.startsWith(`stepd_bench_${child.pid}_`));
      await expect.poll(ours, { timeout: 60_000, interval: 100 }).toHaveLength(1);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(130);
      expect(await ours()).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('exits 2 with the usage on a bad option', async () => {
    const { code, stderr } = await runBench(['--size', 'lots']);
    expect(code).toBe(2);
    expect(stderr).toContain('usage: npm run bench');
  });

  it(
    'runs the shaped-link case through the pacing proxy and reports raw TCP, upload and download',
    { timeout: BOUND_MS + 10_000 },
    async () => {
      const { code, stdout, stderr } = await runBench([
        '--smoke',
        '--json',
        '--cases',
        'shaped',
        '--links',
        '40mbit+20ms',
        '--link-size',
        '512KiB',
      ]);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as BenchResult;
      expect(result.shaped).toHaveLength(1);
      const [link] = result.shaped;
      expect(link).toMatchObject({ link: '40mbit+20ms', bytes: 512 * 1024 });
      // 40 Mbit/s is 5 MB/s at most; the proxy must really have shaped the link.
      for (const rate of [link.raw_mbps, link.upload_mbps, link.download_mbps]) expect(rate).toBeGreaterThan(0);
      expect(link.raw_mbps).toBeLessThan(5.5);
      expect(link.upload_chosen).toMatchObject({ connections: 4 });
    },
  );
});

/** The bench's databases on a server (it creates them with this prefix and drops them at its end). */
async function benchDatabases(adminUrl: string): Promise<string[]> {
  const rows = await queryOn<{ datname: string }>(
    adminUrl,
    "SELECT datname FROM pg_database WHERE starts_with(datname, 'stepd_bench_') ORDER BY 1",
  );
  return rows.map((row) => row.datname);
}
