import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ReplyTally } from './reply-tally.js';

const BOUNDS = [0.001, 0.01, 0.1];

/** The exposition's lines with each sample's labels sorted (prom-client orders them its own way). */
function normalised(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const open = line.indexOf('{');
      if (open < 0 || line.startsWith('#')) return line;
      const close = line.lastIndexOf('}');
      const labels = line.slice(open + 1, close).split(/,(?=[a-z_]+=")/);
      return `${line.slice(0, open)}{${labels.sort().join(',')}}${line.slice(close + 1)}`;
    })
    .sort();
}

describe('ReplyTally', () => {
  it('counts replies by status and latency bucket for each type and operation', () => {
    const tally = new ReplyTally(BOUNDS);
    tally.record('FILE', 'UPLOAD', 200, 0.0005);
    tally.record('FILE', 'UPLOAD', 200, 0.001);
    tally.record('FILE', 'UPLOAD', 410, 0.05);
    tally.record('FILE', 'UPLOAD', 200, 3);
    tally.record('AUTH', 'LOGIN', 200, 0.002);
    const series = [...tally.series()];
    expect(series.map((s) => `${s.type} ${s.operation}`)).toEqual(['FILE UPLOAD', 'AUTH LOGIN']);
    const upload = series[0];
    expect([...upload.statuses]).toEqual([
      [200, 3],
      [410, 1],
    ]);
    // A latency equal to a bound falls in that bound's bucket; one above every bound in the last slot.
    expect([...upload.buckets]).toEqual([2, 0, 1, 1]);
    expect(upload.count).toBe(4);
    expect(upload.sum).toBeCloseTo(3.0515, 10);
  });

  it('writes the same histogram exposition as prom-client for the same observations', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ instance: 'node "a"\\1' });
    const reference = new Histogram({
      name: 'stepd_request_duration_seconds',
      help: 'Latency.\nIn seconds.',
      labelNames: ['type', 'operation'] as const,
      buckets: BOUNDS,
      registers: [registry],
    });
    const tally = new ReplyTally(BOUNDS);
    const observations: Array<[string, string, number]> = [
      ['FILE', 'UPLOAD', 0.0004],
      ['FILE', 'UPLOAD', 0.02],
      ['FILE', 'UPLOAD', 0.25],
      ['DATA', 'GET', 0.001],
      ['DATA', 'GET', 0.0099],
    ];
    for (const [type, operation, seconds] of observations) {
      reference.observe({ type, operation }, seconds);
      tally.record(type, operation, 200, seconds);
    }
    const ours = tally.renderHistogram('stepd_request_duration_seconds', 'Latency.\nIn seconds.', { instance: 'node "a"\\1' });
    expect(normalised(ours)).toEqual(normalised(await registry.metrics()));
  });

  it('writes HELP and TYPE before anything was recorded', () => {
    const text = new ReplyTally(BOUNDS).renderHistogram('x_seconds', 'Help.', { instance: 'a' });
    expect(text).toBe('# HELP x_seconds Help.\n# TYPE x_seconds histogram');
  });
});
