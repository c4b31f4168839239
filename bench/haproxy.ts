import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The example configuration shipped in deploy/ (the multi-instance tests and the bench run it). */
export const DEPLOY_HAPROXY_CFG = [new URL('../deploy/haproxy.cfg', import.meta.url), new URL('../../deploy/haproxy.cfg', import.meta.url)]
  .map((url) => fileURLToPath(url))
  // bench/haproxy.ts under vitest, dist/bench/haproxy.js when built.
  .find((path) => existsSync(path))!;

/** One stepd instance behind the balancer: its STEP port and the HTTP port of its /health. */
export interface InstancePorts {
  stepPort: number;
  httpPort: number;
}

/**
 * deploy/haproxy.cfg made runnable by an unprivileged test: the frontend bound to 127.0.0.1:`port`,
 * the example's `server` lines replaced by one per instance (same options, their ports), and the
 * lines that need a system installation (syslog socket, service user) dropped. Everything else
 * (mode, timeouts, balance, health checks) is the shipped file's.
 */
export function renderHaproxyConfig(template: string, port: number, instances: InstancePorts[]): string {
  const lines = template.split('\n');
  const firstServer = lines.findIndex((line) => /^\s*server\s+stepd-/.test(line));
  if (firstServer < 0 || !lines.some((line) => /^\s*bind\s+:1379\s*$/.test(line))) {
    throw new Error('deploy/haproxy.cfg no longer has `bind :1379` and `server stepd-N` lines to render');
  }
  const indent = /^\s*/.exec(lines[firstServer])![0];
  const servers = instances.map(
    (instance, i) => `${indent}server stepd-${i + 1} 127.0.0.1:${instance.stepPort} check port ${instance.httpPort}`,
  );
  const rendered: string[] = [];
  lines.forEach((line, index) => {
    if (index === firstServer) rendered.push(...servers);
    if (/^\s*server\s+stepd-/.test(line) || /^\s*(user|group|chroot|daemon)\b/.test(line) || /^\s*log\s+\//.test(line)) return;
    rendered.push(line.replace(/^(\s*bind\s+):1379\s*$/, `$1127.0.0.1:${port}`));
  });
  return rendered.join('\n');
}

/** A running haproxy (foreground child) with the rendered configuration. */
export interface HaproxyProcess {
  port: number;
  config: string;
  output(): string;
  close(): Promise<void>;
}

/** Starts `haproxy -db` with deploy/haproxy.cfg rendered for `instances`, and waits until its frontend accepts. */
export async function startHaproxy(port: number, instances: InstancePorts[]): Promise<HaproxyProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'stepd-haproxy-'));
  const config = renderHaproxyConfig(await readFile(DEPLOY_HAPROXY_CFG, 'utf8'), port, instances);
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-16_384));
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new Error(`haproxy could not start (${error.message}): install it (apt-get install -y haproxy)`)),
    ),
  );
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      spawnError,
      waitForPort(
        port,
        () => child.exitCode !== null,
        () => output,
      ),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  return { port, config, output: () => output, close };
}

async function waitForPort(port: number, exited: () => boolean, output: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`haproxy exited:\n${output()}`);
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
