import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame, FrameDecoder, type StepJson } from '../src/protocol/index.js';
import { randomBytes } from 'node:crypto';
import { http } from './helpers/http.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { fileRequest, savePlan, uploadBlocks } from './helpers/step-files.js';
import { login, request } from './helpers/test-app.js';

const PIPELINED = 40;

function loginFrame(username: string): Buffer {
  return encodeFrame(request({ type: 'AUTH', operation: 'LOGIN', username, password: md5Hex(username) }));
}

/**
 * Writes `frames` in one write (so the server reads them together), calls `onFirstReply` when the
 * first reply arrives, and collects replies until the server closes (bounded by `timeoutMs`).
 */
function pipelineThenWatch(port: number, frames: Buffer[], onFirstReply: () => void, timeoutMs = 15_000): Promise<StepJson[]> {
  return new Promise((resolve, reject) => {
    const replies: StepJson[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat(frames)));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const decoder = new FrameDecoder({ maxJsonBytes: 1 << 20, maxBinaryBytes: 1 << 20 }, (frame) => {
      if (frame.json) replies.push(frame.json);
      if (replies.length === 1) onFirstReply();
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(replies);
    });
    socket.on('error', reject);
  });
}

describe('stepd as a service (child process)', () => {
  let dataDir: string;
  let server: ServerProcess | null = null;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-service-'));
  });
  afterEach(async () => {
    await server?.kill();
    server = null;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('on SIGTERM answers every request already received, exits 0, and its files and sessions survive a restart', async () => {
    server = await startServerProcess(dataDir, { STEP_SHUTDOWN_GRACE_MS: '10000' });
    const first = server;
    const content = randomBytes(2 * 20480 + 11);
    const setup = await StepClientConnection.connect({ host: '127.0.0.1', port: first.stepPort, timeoutMs: 10_000 });
    const token = await login(setup, 'frank');
    await savePlan(setup, token, 'kept.bin', content.length);
    await uploadBlocks([setup], token, 'kept.bin', content, 20480, [0, 1, 2]);
    await savePlan(setup, token, 'half.bin', content.length);
    await uploadBlocks([setup], token, 'half.bin', content, 20480, [1]);
    setup.close();

    const frames = Array.from({ length: PIPELINED }, (_, i) => loginFrame(`user${i}`));
    let exited: Promise<number | null> | null = null;
    const replies = await pipelineThenWatch(first.stepPort, frames, () => {
      exited = first.stop();
    });
    expect(replies).toHaveLength(PIPELINED);
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(await exited).toBe(0);
    expect(first.output()).toContain('SIGTERM: draining requests in flight');

    server = await startServerProcess(dataDir);
    const connection = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 10_000 });
    // Past the auth guard (not 403): the sessions written before SIGTERM are still in the database.
    const kept = await connection.request(fileRequest(replies[0].token as string, 'GET', { key: 'kept.bin' }));
    expect(kept.json).toMatchObject({ status: 404 });
    const plan = await connection.request(fileRequest(token, 'GET', { key: 'kept.bin' }));
    expect(plan.json).toMatchObject({ status: 200, size: content.length, md5: md5Hex(content) });
    const half = await connection.request(fileRequest(token, 'STATUS', { key: 'half.bin' }));
    expect(half.json).toMatchObject({ status: 200, received_count: 1, complete: false });
    connection.close();
  });

  it('writes JSON lines with LOG_FORMAT=json, including one debug line per request at LOG_LEVEL=debug', async () => {
    server = await startServerProcess(dataDir, { LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    const connection = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 10_000 });
    await login(connection, 'carol');
    connection.close();
    expect((await http(server.httpPort, '/health')).status).toBe(200);
    const deadline = Date.now() + 5000;
    while (!server.output().includes('"context":"StepRequest"') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = server
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatchObject({ level: expect.any(String), message: expect.anything() });
    const requestLine = lines.find((line) => line.context === 'StepRequest');
    expect(requestLine).toMatchObject({ level: 'debug' });
    expect(String(requestLine?.message)).toMatch(/^AUTH LOGIN 200 /);
  });

  it('logs no per-request line at the default level', async () => {
    server = await startServerProcess(dataDir, { LOG_FORMAT: 'json' });
    const connection = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 10_000 });
    await login(connection, 'dave');
    connection.close();
    expect((await http(server.httpPort, '/health')).status).toBe(200);
    expect(server.output()).not.toContain('StepRequest');
  });
});
