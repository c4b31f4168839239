import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { http } from './helpers/http.js';
import { fileRequest, savePlan, uploadBlocks } from './helpers/step-files.js';
import { login, request, startTestApp, type TestApp } from './helpers/test-app.js';

/** STEP_INSTANCE_ID of the app under test: every series carries it as its `instance` label. */
const INSTANCE = 'metrics-node';

/** `name{labels}` with the labels sorted (prom-client puts default labels first in histograms, last elsewhere). */
function normalised(series: string): string {
  const open = series.indexOf('{');
  if (open < 0) return series;
  const labels = series.slice(open + 1, -1).split(/,(?=[a-z_]+=")/);
  return `${series.slice(0, open)}{${labels.sort().join(',')}}`;
}

/** Value of one sample (`name` or `name{labels}`, plus this instance's label) in a Prometheus text exposition, 0 when absent. */
function sample(text: string, series: string): number {
  const label = `instance="${INSTANCE}"`;
  const wanted = normalised(series.endsWith('}') ? `${series.slice(0, -1)},${label}}` : `${series}{${label}}`);
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (!line.startsWith('#') && space > 0 && normalised(line.slice(0, space)) === wanted) return Number(line.slice(space + 1));
  }
  return 0;
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
    app = await startTestApp({ STEP_INSTANCE_ID: INSTANCE });
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
      'stepd_uploads_in_progress',
      'stepd_uploads_completed_total',
      'stepd_uploads_failed_total',
      'stepd_storage_bytes_used',
      'process_cpu_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('labels every series with the instance, so the instances behind one balancer can be told apart', async () => {
    const samples = (await scrape(app)).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples.length).toBeGreaterThan(20);
    for (const line of samples) expect(line).toMatch(/\{(?:.*,)?instance="metrics-node"(?:,.*)?\} /);
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

  it('counts a real upload: blocks, bytes, uploads in progress, completed uploads and storage used', async () => {
    const upload200 = 'stepd_requests_total{type="FILE",operation="UPLOAD",status="200"}';
    const download200 = 'stepd_requests_total{type="FILE",operation="DOWNLOAD",status="200"}';
    const content = randomBytes(3 * 20480 + 7);
    const connection = await app.connect();
    const token = await login(connection, 'erin');
    const before = await scrape(app);
    const plan = await savePlan(connection, token, 'metrics.bin', content.length);
    expect(plan.total_block).toBe(4);
    await uploadBlocks([connection], token, 'metrics.bin', content, plan.block_size, [0, 1]);
    const midway = await scrape(app);
    expect(sample(midway, 'stepd_uploads_in_progress') - sample(before, 'stepd_uploads_in_progress')).toBe(1);
    await uploadBlocks([connection], token, 'metrics.bin', content, plan.block_size, [2, 3]);
    const block = await connection.request(fileRequest(token, 'DOWNLOAD', { key: 'metrics.bin', block_index: 0 }));
    expect(block.json.status).toBe(200);
    const after = await scrape(app);
    expect(sample(after, upload200) - sample(before, upload200)).toBe(4);
    expect(sample(after, download200) - sample(before, download200)).toBe(1);
    expect(sample(after, 'stepd_binary_bytes_received_total') - sample(before, 'stepd_binary_bytes_received_total')).toBe(content.length);
    expect(sample(after, 'stepd_binary_bytes_sent_total') - sample(before, 'stepd_binary_bytes_sent_total')).toBe(20480);
    expect(sample(after, 'stepd_uploads_in_progress')).toBe(sample(before, 'stepd_uploads_in_progress'));
    expect(sample(after, 'stepd_uploads_completed_total') - sample(before, 'stepd_uploads_completed_total')).toBe(1);
    expect(sample(after, 'stepd_uploads_failed_total')).toBe(0);
    expect(sample(after, 'stepd_storage_bytes_used') - sample(before, 'stepd_storage_bytes_used')).toBe(content.length);
    connection.close();
  });
});
