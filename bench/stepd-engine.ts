import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** What a stepd transfer reports. `seconds` is the client's own timing, when it has one. */
export interface TransferResult {
  md5: string;
  seconds?: number;
  /** What an adaptive client ended up using (when the engine reports it). */
  chosen?: { blockSize: number; inFlight: number; connections: number };
}

/** Where the stepd server is and who the bench logs in as. */
export interface StepdTarget {
  host: string;
  port: number;
  user: string;
}

/** The real stepd client with its default settings (the CLI's engine), as the bench drives it. */
export interface StepdClientEngine {
  /** How the engine is driven, for the report. */
  readonly description: string;
  /** True when transfers run in the bench process (cheap enough for 64 at once). */
  readonly inProcess: boolean;
  /** Uploads a file under `key`; resolves once the MD5 is verified on both ends. */
  upload(target: StepdTarget, file: string, key: string): Promise<TransferResult>;
  /** Downloads `key` into `output`; resolves once its MD5 is verified. */
  download(target: StepdTarget, key: string, output: string): Promise<TransferResult>;
}

const CLI_CANDIDATES = ['../src/cli/main.js', '../cli/main.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/**
 * Runs the built `step` CLI as a child process with default settings. Its `--json` output carries
 * its own transfer time, which excludes the CLI's start-up (Nest bootstrap), so that start-up is
 * not charged to the transfer.
 */
export class CliProcessEngine implements StepdClientEngine {
  readonly description = 'built `step` CLI as a child process (time from its --json "seconds")';
  readonly inProcess = false;

  private constructor(private readonly entry: string) {}

  /** The CLI engine, or null when the CLI is not built. */
  static async find(): Promise<CliProcessEngine | null> {
    for (const entry of CLI_CANDIDATES) {
      if (
        await access(entry).then(
          () => true,
          () => false,
        )
      )
        return new CliProcessEngine(entry);
    }
    return null;
  }

  async upload(target: StepdTarget, file: string, key: string): Promise<TransferResult> {
    const out = await this.run(target, ['upload', file, '--key', key]);
    if (out.verified === false) throw new Error(`step upload: md5 not verified: ${JSON.stringify(out)}`);
    return { md5: String(out.md5), seconds: typeof out.seconds === 'number' ? out.seconds : undefined };
  }

  async download(target: StepdTarget, key: string, output: string): Promise<TransferResult> {
    const out = await this.run(target, ['download', key, '-o', output]);
    return { md5: String(out.md5), seconds: typeof out.seconds === 'number' ? out.seconds : undefined };
  }

  private run(target: StepdTarget, args: string[]): Promise<Record<string, unknown>> {
    const argv = [this.entry, ...args, '--server', `${target.host}:${target.port}`, '--user', target.user, '--json'];
    return new Promise((resolve, reject) => {
      execFile(process.execPath, argv, { maxBuffer: 1024 * 1024, timeout: 600_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`step ${args[0]} failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
        } catch {
          reject(new Error(`step ${args[0]} printed no JSON: ${stdout}\n${stderr}`));
        }
      });
    });
  }
}
