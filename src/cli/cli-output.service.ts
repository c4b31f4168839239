import { Injectable } from '@nestjs/common';
import { SingleBar } from 'cli-progress';
import type { TransferProgress } from '../client/transfer.types.js';
import { describeFailure, exitCodeOf, failureJson, UsageError } from './cli-errors.js';

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

  /**
   * Reports a failure: one stderr line, with --json also one `{"error": ...}` object on stdout
   * (scripts parse stdout only), and the exit code of its kind.
   */
  fail(command: string, err: unknown, json: boolean): void {
    const line = err instanceof UsageError ? err.message : `${command} failed: ${describeFailure(err).replace(/\s+/g, ' ')}`;
    process.stderr.write(`step: ${line}\n`);
    if (json) process.stdout.write(`${JSON.stringify(failureJson(err))}\n`);
    process.exitCode = exitCodeOf(err);
  }

  /** A bytes/rate/ETA bar on stderr when it is a terminal and not switched off; nothing otherwise. */
  progress(label: string, off = false): ProgressDisplay {
    if (off || !process.stderr.isTTY) return NO_PROGRESS;
    // {remaining}, not cli-progress's own {eta_formatted}: see eta() below.
    const bar = new SingleBar({
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {done}/{all} | {rate} | ETA {remaining}`,
      // Not hidden: a Ctrl-C would leave the terminal without a cursor.
      hideCursor: false,
      fps: 5,
    });
    const started = Date.now();
    let running = false;
    let firstDone = 0;
    return {
      update({ doneBytes, totalBytes }) {
        if (!running) firstDone = doneBytes;
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        const payload = {
          done: formatBytes(doneBytes),
          all: formatBytes(totalBytes),
          rate: `${formatBytes(doneBytes / seconds)}/s`,
          remaining: eta(doneBytes - firstDone, totalBytes - doneBytes, seconds),
        };
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

/**
 * Remaining time at the average rate since the start, counting only bytes moved in this run
 * (resumed bytes would make it look fast). cli-progress's own estimate averages its last updates
 * and read "0s" during the first seconds of a large upload.
 */
export function eta(movedBytes: number, remainingBytes: number, seconds: number): string {
  if (remainingBytes <= 0) return '0s';
  if (movedBytes <= 0) return '--';
  const left = Math.ceil((remainingBytes / movedBytes) * seconds);
  if (left < 60) return `${left}s`;
  if (left < 3600) return `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s`;
  return `${Math.floor(left / 3600)}h${String(Math.floor((left % 3600) / 60)).padStart(2, '0')}m`;
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
