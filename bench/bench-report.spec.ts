import { describe, expect, it } from 'vitest';
import { caseStats, formatTable, legacyBlockCpuMicros, ratio, type BenchResult } from './bench-report.js';
import { smallCaseStats } from './small-report.js';

describe('bench report', () => {
  it('computes median, min and max MB/s (MB = 10^6 bytes)', () => {
    expect(caseStats(100e6, [1, 2, 0.5])).toMatchObject({ median: 100, min: 50, max: 200 });
    expect(caseStats(100e6, [1, 2]).median).toBe(75);
  });

  it('prints ratios against baseline and peer, only for the cases that ran', () => {
    const result: BenchResult = {
      size_bytes: 256 * 1024 ** 2,
      runs: 1,
      unit: 'MB/s, MB = 10^6 bytes',
      block_size: 4 * 1024 ** 2,
      connections: 4,
      engine: 'test',
      balancer: null,
      cases: { baseline: caseStats(400e6, [1]), peer: caseStats(200e6, [1]), upload: caseStats(300e6, [1]) },
      small: {
        'data-1': smallCaseStats({
          connections: 1,
          operations: 1000,
          requestsPerOperation: 2,
          seconds: [2, 1, 4],
          serverCpu: [1, 0.5, 2],
          clientCpu: [],
        }),
      },
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
      server_peak_rss_bytes: 150 * 1024 ** 2,
      shaped: [
        {
          link: '2mbit',
          bytes: 16 * 1024 ** 2,
          raw_mbps: 0.24,
          upload_mbps: 0.23,
          download_mbps: 0.22,
          upload_vs_raw: 0.96,
          download_vs_raw: 0.92,
          upload_chosen: { blockSize: 32 * 1024, inFlight: 2, connections: 4 },
          download_chosen: { blockSize: 4 * 1024 ** 2, inFlight: 2, connections: 4 },
        },
      ],
    };
    expect(ratio(result, 'upload', 'baseline')).toBe(0.75);
    expect(ratio(result, 'download', 'baseline')).toBeNull();
    const table = formatTable(result);
    expect(table).toContain('MB = 10^6 bytes');
    expect(table).toMatch(/stepd upload[^\n]*\| 300 \(300-300\)\s+\| 0\.75\s+\| 1\.50/);
    expect(table).not.toContain('stepd download');
    expect(table).toContain('peak RSS during upload: 150 MiB');
    expect(table).not.toContain('server CPU per 20480-byte block');
    // 1000 pairs in 2 s (the median run) is 500 pairs/s, 1000 requests/s; 1 CPU-s over 2000 requests is 500 us each.
    expect(result.small['data-1']).toMatchObject({ median: 500, min: 250, max: 1000, requests_per_second: 1000 });
    expect(result.small['data-1']!.client_cpu_us_per_request).toBeNull();
    expect(table).toMatch(/\| DATA SAVE\+GET pair\s+\| 1\s+\| 500 \(250-1000\)\s+\| 1000\s+\| 500\s+\| -\s+\|/);
    expect(table).toMatch(
      /\| 2mbit\s+\| 16\s+\| 0\.240\s+\| 0\.230\s+\| 0\.96\s+\| 0\.220\s+\| 0\.92\s+\| 32 KiB x 2 x 4\s+\| 4096 KiB x 2 x 4\s+\|/,
    );
  });

  it('prints the server CPU per lock-step block of the legacy case, against the raw one', () => {
    // 8.5 CPU-s per GB is 8.5 ns per byte: 174 us per 20480-byte block.
    const legacy = caseStats(1e9, [10], { serverCpu: [8.5] });
    const raw = caseStats(1e9, [8], { serverCpu: [5] });
    expect(legacyBlockCpuMicros(legacy)).toBeCloseTo(174.08, 6);
    expect(legacyBlockCpuMicros(caseStats(1e9, [10]))).toBeNull();
    expect(legacyBlockCpuMicros(undefined)).toBeNull();
    const result = { cases: { legacy, 'legacy-baseline': raw }, small: {}, shaped: [], ratios: {} } as unknown as BenchResult;
    expect(formatTable(result)).toContain('server CPU per 20480-byte block: stepd legacy 174 us, raw lock-step baseline 102 us (1.70x)');
    const alone = { cases: { legacy }, small: {}, shaped: [], ratios: {} } as unknown as BenchResult;
    expect(formatTable(alone)).toMatch(/server CPU per 20480-byte block: stepd legacy 174 us\n/);
  });
});
