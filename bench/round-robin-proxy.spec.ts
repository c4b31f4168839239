import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { askTagged, startTaggedEcho } from '../test/helpers/tagged-echo.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';

const echoServer = startTaggedEcho;
const ask = (port: number, text: string) => askTagged(port, text);

/** A loopback port with no listener (bound, read, released). */
async function deadPort(): Promise<number> {
  const server = await echoServer('dead');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return server.port;
}

describe('round-robin TCP proxy (test helper)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const started = async (proxy: Promise<RoundRobinProxy>) => {
    const p = await proxy;
    cleanup.push(() => p.close());
    return p;
  };
  const backend = async (name: string) => {
    const server = await echoServer(name);
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return server;
  };

  it('sends each new connection to the next backend, both ways', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const proxy = await started(startRoundRobinProxy([{ port: a.port }, { port: b.port }]));
    const answers: string[] = [];
    for (let i = 0; i < 4; i += 1) answers.push(await ask(proxy.port, `m${i}`));
    expect(answers).toEqual(['a:m0', 'b:m1', 'a:m2', 'b:m3']);
    expect(proxy.connectionsPerBackend()).toEqual([2, 2]);
  });

  it('keeps one connection on one backend for its whole life, and carries large payloads intact', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const proxy = await started(startRoundRobinProxy([{ port: a.port }, { port: b.port }]));
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const payload = 'x'.repeat(4 * 1024 * 1024);
    socket.write(payload);
    await expect.poll(() => received.replaceAll('a:', '').length, { timeout: 10_000 }).toBe(payload.length);
    expect(received.startsWith('a:')).toBe(true);
    expect(received).not.toContain('b:');
    socket.destroy();
  });

  it('closes the client connection when its backend refuses, and the next client goes to the next backend', async () => {
    const b = await backend('b');
    const proxy = await started(startRoundRobinProxy([{ port: await deadPort() }, { port: b.port }]));
    expect(await ask(proxy.port, 'one')).toBe('closed');
    expect(await ask(proxy.port, 'two')).toBe('b:two');
  });

  it('skips a backend marked down, and uses it again once marked up', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const proxy = await started(startRoundRobinProxy([{ port: a.port }, { port: b.port }]));
    proxy.setDown(0, true);
    expect([await ask(proxy.port, '1'), await ask(proxy.port, '2')]).toEqual(['b:1', 'b:2']);
    proxy.setDown(0, false);
    const both = [await ask(proxy.port, '3'), await ask(proxy.port, '4')].map((answer) => answer[0]).sort();
    expect(both).toEqual(['a', 'b']);
  });

  it('ends both sides when a backend goes away, and ends every connection on close()', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const proxy = startRoundRobinProxy([{ port: a.port }, { port: b.port }]);
    const { port } = await proxy;
    const first = connect({ host: '127.0.0.1', port });
    const second = connect({ host: '127.0.0.1', port });
    const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const firstClosed = closed(first);
    const secondClosed = closed(second);
    await expect.poll(() => a.open.size + b.open.size).toBe(2);
    for (const socket of a.open) socket.destroy();
    await firstClosed;
    await (await proxy).close();
    await secondClosed;
    await expect.poll(() => b.open.size).toBe(0);
  });
});
