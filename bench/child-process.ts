import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';

/** A child process that printed the port it listens on. */
export interface ListeningChild {
  child: ChildProcess;
  /** The numbers captured by each `ready` pattern's first group, in pattern order. */
  ports: number[];
  /** Everything the child printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code once the child is gone. */
  exited: Promise<number | null>;
}

/** How to start a child and recognise that it is ready. */
export interface SpawnListeningOptions {
  args: string[];
  env: Record<string, string | undefined>;
  /** One pattern per port to wait for; the first capture group is the port. */
  ready: RegExp[];
  timeoutMs?: number;
}

/**
 * Runs `node ...args` and waits (bounded) until its output matches every `ready` pattern. Shared
 * by the bench (stepd, baseline and tus servers) and the e2e helpers that restart stepd.
 */
export function spawnListening(options: SpawnListeningOptions): Promise<ListeningChild> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const child = spawn(process.execPath, options.args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.args[0]} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    let settled = false;
    const onData = (chunk: Buffer) => {
      // Only the start-up output is kept whole; later output is kept for error messages, capped.
      out = (out + chunk.toString()).slice(-64 * 1024);
      if (settled) return;
      const matches = options.ready.map((pattern) => pattern.exec(out));
      if (matches.some((m) => m === null)) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, ports: matches.map((m) => Number(m![1])), output: () => out, exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      if (!settled) reject(new Error(`${options.args[0]} exited with ${code} before listening:\n${out}`));
    });
  });
}

/** Stops a child with SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(listening: ListeningChild, graceMs = 5_000): Promise<void> {
  if (listening.child.exitCode !== null || listening.child.signalCode !== null) return;
  listening.child.kill('SIGTERM');
  const timer = setTimeout(() => listening.child.kill('SIGKILL'), graceMs);
  await listening.exited;
  clearTimeout(timer);
}

/**
 * Tracks the peak resident set size of a process (Linux /proc). The kernel's high-water mark is
 * reset at start (clear_refs 5) so earlier cases do not count, and VmRSS is sampled as well in
 * case the reset is not permitted.
 */
export class PeakRssSampler {
  private peakKiB = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 25,
  ) {}

  /** Resets the high-water mark and starts sampling. */
  async start(): Promise<void> {
    this.peakKiB = 0;
    await writeFile(`/proc/${this.pid}/clear_refs`, '5').catch(() => undefined);
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Stops sampling and returns the peak in bytes (0 when /proc is not readable). */
  async stop(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sample();
    return this.peakKiB * 1024;
  }

  private async sample(): Promise<void> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8').catch(() => '');
    for (const field of ['VmHWM', 'VmRSS']) {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      if (match) this.peakKiB = Math.max(this.peakKiB, Number(match[1]));
    }
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 when unreadable). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : 0;
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;
