import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.js';
import { login, request, startTestApp, type TestApp } from './helpers/test-app.js';

/** Value of one sample line (`name{labels} value`) in a Prometheus text exposition, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(app: TestApp): Promise<string> {
  const reply = await http(app.httpAddress, '/metrics');
  expect(reply.status).toBe(200);
  expect(reply.contentType).toMatch(/^text\/plain/);
  return reply.text;
}

describe('GET /metrics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app.stop());

  it('exposes every stepd metric in the Prometheus text format', async () => {
    const text = await scrape(app);
    for (const name of [
      'stepd_connections_open',
      'stepd_requests_total',
      'stepd_request_duration_seconds',
      'stepd_binary_bytes_received_total',
      'stepd_binary_bytes_sent_total',
      'process_cpu_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('counts a real LOGIN, its latency and the open connection', async () => {
    const login200 = 'stepd_requests_total{type="AUTH",operation="LOGIN",status="200"}';
    const latencyCount = 'stepd_request_duration_seconds_count{type="AUTH",operation="LOGIN"}';
    const before = await scrape(app);
    const connection = await app.connect();
    await login(connection);
    await login(connection);
    const after = await scrape(app);
    expect(sample(after, login200) - sample(before, login200)).toBe(2);
    expect(sample(after, latencyCount) - sample(before, latencyCount)).toBe(2);
    expect(sample(after, 'stepd_connections_open')).toBe(1);
    connection.close();
  });

  it('never turns a client-made operation name into a label value', async () => {
    const connection = await app.connect();
    const reply = await connection.request(request({ type: 'FILE', operation: 'EXFILTRATE' }));
    expect(reply.json.status).toBe(408);
    const text = await scrape(app);
    expect(text).not.toContain('EXFILTRATE');
    expect(sample(text, 'stepd_requests_total{type="FILE",operation="OTHER",status="408"}')).toBe(1);
    connection.close();
  });
});
