import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { startBalancer, type Balancer } from './helpers/balancer.js';
import { runCli, spawnCli, waitForCli } from './helpers/cli-process.js';
import { connectTo, counterOf, startInstances, waitForTokenStatus } from './helpers/instances.js';
import { testDatabaseKind } from './helpers/postgres.js';
import type { ServerProcess } from './helpers/server-process.js';
import { blockOf, downloadAll, fileRequest, md5Of, savePlan, uploadBlocks } from './helpers/step-files.js';
import { login, request, statusOf } from './helpers/test-app.js';

// Two stepd instances on one PostgreSQL database and one data dir, behind a round-robin TCP
// balancer (docs/scale-out.md): the test proxy, or with STEP_BALANCER=haproxy the real haproxy
// running deploy/haproxy.cfg (test/haproxy/run-haproxy-scenario.sh, from .ci/run).

const BIG_BYTES = 256 * 1024 * 1024;
/** Revocation on one instance must bite on the other within this (issue 16). */
const REVOCATION_MS = 2_000;

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('two instances behind a round-robin balancer (docs/scale-out.md)', { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let instances: ServerProcess[] = [];
  let balancer: Balancer;
  let bigFile: string;
  let bigMd5: string;
  const opened: StepClientConnection[] = [];
  const open = async (port: number) => {
    const conn = await connectTo(port);
    opened.push(conn);
    return conn;
  };
  const cli = (port: number) => ['--server', `127.0.0.1:${port}`, '--user', 'alice', '--json'];
  const received = () => Promise.all(instances.map((i) => counterOf(i.httpPort, 'stepd_binary_bytes_received_total')));
  const requests = () => Promise.all(instances.map((i) => counterOf(i.httpPort, 'stepd_requests_total')));

  beforeAll(async () => {
    // A multi-instance run on SQLite would test nothing the issue asks for: fail, never pass.
    if (testDatabaseKind() !== 'postgres') throw new Error('multi-instance.e2e-spec.ts runs only in a PostgreSQL project (e2e-postgres)');
    dir = await mkdtemp(join(tmpdir(), 'stepd-multi-'));
    dataDir = join(dir, 'shared');
    instances = await startInstances(dataDir, 2);
    balancer = await startBalancer(instances);
    const data = randomBytes(BIG_BYTES);
    bigMd5 = md5Of(data);
    bigFile = join(dir, 'big.bin');
    await writeFile(bigFile, data);
  });

  afterAll(async () => {
    for (const conn of opened) conn.close();
    await balancer?.close();
    await Promise.all(instances.map((instance) => instance.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the whole protocol through the balancer, a session and an upload spanning both instances', async () => {
    const before = await requests();
    const [c0, c1] = [await open(balancer.port), await open(balancer.port)];
    const token = await login(c0, 'alice');

    const data = randomBytes(300_001);
    const plan = await savePlan(c1, token, 'multi/a.bin', data.length);
    expect(plan).toMatchObject({ block_size: 20480, total_block: 15 });
    const first = await uploadBlocks([c0, c1], token, 'multi/a.bin', data, 20480, [...Array(14).keys()]);
    expect(first.every((reply) => statusOf(reply) === 200 && reply.json.md5 === undefined)).toBe(true);
    const partial = await c0.request(fileRequest(token, 'STATUS', { key: 'multi/a.bin' }));
    expect(partial.json).toMatchObject({ status: 200, received_count: 14, missing_ranges: [[14, 14]], complete: false });
    const last = await c1.request(fileRequest(token, 'UPLOAD', { key: 'multi/a.bin', block_index: 14 }), blockOf(data, 14, 20480));
    expect(last.json).toMatchObject({ status: 200, block_index: 14, key: 'multi/a.bin', md5: md5Of(data) });
    expect((await c0.request(fileRequest(token, 'STATUS', { key: 'multi/a.bin' }))).json).toMatchObject({
      complete: true,
      received_count: 15,
      md5: md5Of(data),
    });
    for (const conn of [c0, c1]) {
      const download = await downloadAll(conn, token, 'multi/a.bin');
      expect(download.plan).toMatchObject({
        status: 200,
        status_msg: 'OK. This is the download plan.',
        size: data.length,
        md5: md5Of(data),
      });
      expect(download.data.equals(data)).toBe(true);
    }
    expect((await c1.request(fileRequest(token, 'LIST', { prefix: 'multi/' }))).json.files).toEqual([
      { key: 'multi/a.bin', size: data.length, md5: md5Of(data), created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    expect(statusOf(await c0.request(fileRequest(token, 'DELETE', { key: 'multi/a.bin' })))).toBe(200);
    expect(statusOf(await c1.request(fileRequest(token, 'GET', { key: 'multi/a.bin' })))).toBe(404);
    expect((await c1.request(fileRequest(token, 'LIST', { prefix: 'multi/' }))).json.files).toEqual([]);

    const dataOp = (conn: StepClientConnection, operation: string, fields: Record<string, unknown>) =>
      conn.request(request({ type: 'DATA', operation, token, ...fields }));
    expect((await dataOp(c0, 'SAVE', { key: 'k1', colour: 'blue', n: 3 })).json).toMatchObject({
      status: 200,
      status_msg: 'Data is saved with key "k1"',
      key: 'k1',
    });
    expect((await dataOp(c1, 'SAVE', { key: 'k1', colour: 'red' })).json).toMatchObject({
      status: 402,
      status_msg: 'This key "k1" is existing.',
    });
    expect((await dataOp(c1, 'GET', { key: 'k1' })).json).toMatchObject({ status: 200, colour: 'blue', n: 3, key: 'k1' });
    expect((await dataOp(c0, 'LIST', { prefix: 'k' })).json.keys).toEqual(['k1']);
    expect((await dataOp(c1, 'DELETE', { key: 'k1' })).json).toMatchObject({ status: 200, status_msg: 'The "key" k1 is deleted.' });
    expect((await dataOp(c0, 'GET', { key: 'k1' })).json).toMatchObject({ status: 404, status_msg: 'The key k1 is not existing.' });

    expect((await c1.request(request({ type: 'AUTH', operation: 'LOGOUT', token }))).json).toMatchObject({
      status: 200,
      operation: 'LOGOUT',
    });
    await waitForTokenStatus(balancer.port, token, 403, REVOCATION_MS);
    // Both instances answered part of it.
    const after = await requests();
    expect(after.map((count, i) => count - before[i]).every((delta) => delta >= 5)).toBe(true);
  });

  it('uploads 256 MiB with `step upload` over connections on both instances, and downloads it from each instance directly', async () => {
    const before = await received();
    const upload = await runCli([...cli(balancer.port), 'upload', bigFile, '--key', 'big.bin'], {}, 120_000);
    expect(upload.stderr).toBe('');
    expect(upload.code).toBe(0);
    expect(JSON.parse(upload.stdout)).toMatchObject({ key: 'big.bin', size: BIG_BYTES, md5: bigMd5, verified: true });
    const deltas = (await received()).map((count, i) => count - before[i]);
    // Every block went to one instance or the other, and each got a share of them.
    expect(deltas[0] + deltas[1]).toBeGreaterThanOrEqual(BIG_BYTES);
    for (const delta of deltas) expect(delta).toBeGreaterThan(0);

    for (const instance of instances) {
      const out = join(dir, `fetched-${instance.stepPort}.bin`);
      const download = await runCli([...cli(instance.stepPort), 'download', 'big.bin', '-o', out], {}, 120_000);
      expect(download.code).toBe(0);
      expect(JSON.parse(download.stdout)).toMatchObject({ key: 'big.bin', size: BIG_BYTES, md5: bigMd5 });
      expect(await md5OfFile(out)).toBe(bigMd5);
      await rm(out);
    }
  });

  it('refuses on one instance, within 2 s, a session logged out on the other', async () => {
    const [a, b] = [await open(instances[0].stepPort), await open(instances[1].stepPort)];
    const token = await login(a, 'bob');
    // B has checked (and may have cached) the session before it is revoked on A.
    expect(statusOf(await b.request(request({ type: 'DATA', operation: 'LIST', token })))).toBe(200);
    expect(statusOf(await a.request(request({ type: 'AUTH', operation: 'LOGOUT', token })))).toBe(200);
    const tookMs = await waitForTokenStatus(instances[1].stepPort, token, 403, REVOCATION_MS);
    expect(tookMs).toBeLessThanOrEqual(REVOCATION_MS);
  });

  it('completes `step upload` through the balancer with resumed blocks after kill -9 of one instance mid-upload', async () => {
    const [victim, survivor] = instances;
    const args = [...cli(balancer.port), 'upload', bigFile, '--key', 'resumed.bin', '--block-size', '1048576'];
    const first = spawnCli(args);
    const firstRun = waitForCli(first, 120_000);
    // Kill once some blocks are acknowledged: STATUS on the survivor reads them from the database.
    const status = await open(survivor.stepPort);
    const token = await login(status, 'alice');
    const statusOfKey = async () => (await status.request(fileRequest(token, 'STATUS', { key: 'resumed.bin' }))).json;
    const deadline = Date.now() + 60_000;
    while (Number((await statusOfKey()).received_count ?? 0) < 8) {
      if (Date.now() > deadline) throw new Error('no 8 blocks of resumed.bin acknowledged within 60 s');
      await sleep(20);
    }
    // The client is stopped with the instance, so that the re-run below starts from what the
    // database holds rather than from what this client still had in flight.
    first.kill('SIGKILL');
    await Promise.all([victim.kill(), firstRun]);
    balancer.setDown(0, true);
    const between = await statusOfKey();
    if (between.complete === true) throw new Error('the interrupted upload completed before the re-run: nothing was resumed');
    expect(between.received_count as number).toBeGreaterThan(0);

    const second = await runCli(args, {}, 120_000);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ key: 'resumed.bin', size: BIG_BYTES, md5: bigMd5, verified: true });
    expect(result.resumed_blocks as number).toBeGreaterThanOrEqual(between.received_count as number);
    expect(await statusOfKey()).toMatchObject({ complete: true, md5: bigMd5 });
  });
});
