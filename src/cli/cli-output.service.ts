import { Injectable } from '@nestjs/common';
import { SingleBar } from 'cli-progress';
import type { TransferProgress } from '../client/transfer.types.js';
import { describeFailure, ExitCode, UsageError } from './cli-errors.js';

/** A progress display; a no-op when stderr is not a terminal. */
export interface ProgressDisplay {
  update(progress: TransferProgress): void;
  stop(): void;
}

const NO_PROGRESS: ProgressDisplay = { update: () => undefined, stop: () => undefined };

/**
 * Everything `step` prints. Results go to stdout (exactly one JSON object with --json, text
 * otherwise); progress and errors go to stderr, progress bars only when stderr is a terminal.
 */
@Injectable()
export class CliOutputService {
  /** Prints a command's result. */
  result(json: boolean, value: object, text: string): void {
    process.stdout.write(json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** Reports a failure on one stderr line and sets the exit code (2 for usage errors, else 1). */
  fail(command: string, err: unknown): void {
    if (err instanceof UsageError) {
      process.stderr.write(`step: ${err.message}\n`);
      process.exitCode = ExitCode.USAGE;
      return;
    }
    process.stderr.write(`step: ${command} failed: ${describeFailure(err).replace(/\s+/g, ' ')}\n`);
    process.exitCode = ExitCode.FAILED;
  }

  /** A bytes/rate/ETA bar on stderr when it is a terminal; nothing otherwise. */
  progress(label: string): ProgressDisplay {
    if (!process.stderr.isTTY) return NO_PROGRESS;
    const bar = new SingleBar({
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {done}/{all} | {rate} | ETA {eta_formatted}`,
      // Not hidden: a Ctrl-C would leave the terminal without a cursor.
      hideCursor: false,
      etaBuffer: 50,
      fps: 5,
    });
    const started = Date.now();
    let running = false;
    return {
      update({ doneBytes, totalBytes }) {
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        const payload = { done: formatBytes(doneBytes), all: formatBytes(totalBytes), rate: `${formatBytes(doneBytes / seconds)}/s` };
        if (!running) {
          bar.start(totalBytes, doneBytes, payload);
          running = true;
        } else bar.update(doneBytes, payload);
      },
      stop() {
        if (running) bar.stop();
      },
    };
  }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
