import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { askTagged, startTaggedEcho } from '../helpers/tagged-echo.js';

// Runs only with STEP_BALANCER=haproxy (test/haproxy/run-haproxy-scenario.sh, from .ci/run):
// the shipped deploy/haproxy.cfg, rendered for two fake instances, in a real haproxy.

interface FakeInstance {
  stepPort: number;
  httpPort: number;
  healthy: boolean;
  close(): Promise<void>;
}

/** A TCP server answering `<name>:<chunk>` plus an HTTP /health answering 200 or 503. */
async function fakeInstance(name: string): Promise<FakeInstance> {
  const step = await startTaggedEcho(name);
  const instance = { healthy: true } as FakeInstance;
  const http = createHttpServer((req, res) => {
    res.writeHead(req.url === '/health' && instance.healthy ? 200 : 503).end();
  });
  const listen = (server: Server) =>
    new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  instance.stepPort = step.port;
  instance.httpPort = await listen(http);
  instance.close = async () => {
    step.close();
    http.close();
    step.unref();
    http.closeAllConnections();
  };
  return instance;
}

const ask = (port: number, text: string) => askTagged(port, text, 10_000);

describe('deploy/haproxy.cfg in a real haproxy', () => {
  let balancer: Balancer | undefined;
  const instances: FakeInstance[] = [];
  afterEach(async () => {
    await balancer?.close();
    for (const instance of instances.splice(0)) await instance.close();
  });

  it('alternates connections between the instances, drops one whose /health fails, and takes it back', { timeout: 60_000 }, async () => {
    instances.push(await fakeInstance('a'), await fakeInstance('b'));
    balancer = await startBalancer(instances);
    expect(balancer.kind).toBe('haproxy');
    // Sequential connections alternate; right after haproxy starts, the first server may take
    // two in a row (seen with haproxy 2.6: "aababa..."), so six connections, at least two each.
    const first: string[] = [];
    for (let i = 1; i <= 6; i += 1) first.push((await ask(balancer.port, String(i)))[0]);
    expect(first.filter((name) => name === 'a').length, first.join('')).toBeGreaterThanOrEqual(2);
    expect(first.filter((name) => name === 'b').length, first.join('')).toBeGreaterThanOrEqual(2);
    expect(first.slice(2).join(''), 'strict alternation once started').toMatch(/^(abab|baba)$/);

    instances[0].healthy = false;
    // `inter 2s fall 2`: down after two failed checks.
    await expect
      .poll(async () => (await Promise.all([1, 2, 3, 4].map(() => ask(balancer!.port, 'x')))).every((answer) => answer.startsWith('b:')), {
        timeout: 15_000,
        interval: 500,
      })
      .toBe(true);

    instances[0].healthy = true;
    await expect
      .poll(async () => (await Promise.all([1, 2, 3, 4].map(() => ask(balancer!.port, 'y')))).some((answer) => answer.startsWith('a:')), {
        timeout: 15_000,
        interval: 500,
      })
      .toBe(true);
  });

  it('redispatches a connection refused by a dead instance to the live one', { timeout: 60_000 }, async () => {
    instances.push(await fakeInstance('a'), await fakeInstance('b'));
    balancer = await startBalancer(instances);
    await instances[0].close();
    // Before the checks notice, every connection still reaches an answering instance.
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await ask(balancer.port, String(i)));
    expect(answers).toEqual(['b:0', 'b:1', 'b:2', 'b:3']);
  });
});
