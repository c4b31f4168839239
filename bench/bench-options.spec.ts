import { describe, expect, it } from 'vitest';
import { SMALL_CASE_NAMES } from './small-requests.js';
import { CASE_NAMES, parseBenchOptions, parseLink, parseSize, BenchUsageError } from './bench-options.js';

describe('bench options', () => {
  it('reads binary and decimal size units', () => {
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('1gib')).toBe(1024 ** 3);
    expect(parseSize('100MB')).toBe(100_000_000);
    expect(parseSize('12345')).toBe(12_345);
    expect(parseSize('0.5KiB')).toBe(512);
  });

  it('rejects sizes it cannot read', () => {
    for (const bad of ['', 'MiB', '-1MiB', '1 parsec', '0']) expect(() => parseSize(bad)).toThrow(BenchUsageError);
  });

  it('defaults to 256 MiB, 3 runs, every case but the shaped links and the PostgreSQL ones, table output', () => {
    expect(parseBenchOptions([])).toMatchObject({
      size: 256 * 1024 ** 2,
      runs: 3,
      json: false,
      cases: CASE_NAMES.filter((c) => c !== 'shaped' && !c.startsWith('pg-')),
      databaseUrl: null,
      smallCases: [...SMALL_CASE_NAMES],
      smoke: false,
      cpuProfileDir: null,
    });
    expect(parseBenchOptions([]).links.map((l) => l.label)).toEqual(['2mbit', '20mbit', '20mbit+50ms']);
    expect(parseBenchOptions([]).linkSize).toBe(16 * 1024 ** 2);
  });

  it('reads shaped links: bandwidth and added round trip', () => {
    expect(parseLink('20mbit+50ms')).toEqual({ label: '20mbit+50ms', bitsPerSecond: 20e6, addedRttMs: 50 });
    expect(parseLink('512kbit')).toMatchObject({ bitsPerSecond: 512e3, addedRttMs: 0 });
    for (const bad of ['fast', '2mb', '10kbit', '2mbit+x']) expect(() => parseLink(bad)).toThrow(BenchUsageError);
    expect(parseBenchOptions(['--cases', 'shaped', '--links', '1mbit,2mbit', '--link-size', '4MiB'])).toMatchObject({
      cases: ['shaped'],
      linkSize: 4 * 1024 ** 2,
    });
  });

  it('takes --flag value and --flag=value, and keeps cases in run order', () => {
    const options = parseBenchOptions(['--size=1GiB', '--runs', '5', '--cases', 'legacy,baseline', '--json']);
    expect(options).toMatchObject({ size: 1024 ** 3, runs: 5, json: true, cases: ['baseline', 'legacy'] });
  });

  it('takes pg for every PostgreSQL case, and the server they use', () => {
    expect(parseBenchOptions(['--cases', 'upload,pg', '--database-url', 'postgres://me@db:5432/x'])).toMatchObject({
      cases: ['upload', 'pg-upload', 'pg-balanced', 'pg-legacy', 'pg-legacy-8'],
      databaseUrl: 'postgres://me@db:5432/x',
    });
    expect(parseBenchOptions(['--cases', 'pg-legacy']).cases).toEqual(['pg-legacy']);
  });

  it('takes small for every small-request case, or small cases one by one', () => {
    expect(parseBenchOptions(['--cases', 'small'])).toMatchObject({ cases: [], smallCases: [...SMALL_CASE_NAMES] });
    expect(parseBenchOptions(['--cases', 'get-32,legacy-8,data-1'])).toMatchObject({
      cases: ['legacy-8'],
      smallCases: ['data-1', 'get-32'],
    });
    expect(parseBenchOptions(['--cases', 'upload'])).toMatchObject({ cases: ['upload'], smallCases: [] });
    expect(() => parseBenchOptions(['--cases', 'data-8'])).toThrow(/unknown data-8/);
  });

  it('makes --smoke tiny and single-run unless size or runs are given', () => {
    const smoke = parseBenchOptions(['--smoke']);
    expect(smoke.runs).toBe(1);
    expect(smoke.size).toBeLessThan(16 * 1024 * 1024);
    expect(parseBenchOptions(['--smoke', '--runs', '2', '--size', '1MiB'])).toMatchObject({ runs: 2, size: 1024 * 1024 });
  });

  it('refuses unknown options, unknown cases and bad run counts', () => {
    expect(() => parseBenchOptions(['--fast'])).toThrow(BenchUsageError);
    expect(() => parseBenchOptions(['--cases', 'scp'])).toThrow(/unknown scp/);
    expect(() => parseBenchOptions(['--runs', '0'])).toThrow(BenchUsageError);
    expect(() => parseBenchOptions(['--runs'])).toThrow(/needs a value/);
  });
});
