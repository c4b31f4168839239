import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OperationError, UsageError } from './cli-errors.js';

/** Where a download goes. */
export interface DownloadTarget {
  /** The file the engine writes (a private temporary file when the target is stdout). */
  path: string;
  /** Copies a verified download to stdout (stdout targets only) and removes temporaries. */
  finish(): Promise<void>;
  /** Removes temporaries after a failure. */
  cleanup(): Promise<void>;
}

/** `-o -`: standard output. */
export const STDOUT_PATH = '-';

/**
 * Resolves `-o`: absent means the key's base name; `-` means stdout; an existing directory (or a
 * path ending in `/`) means `DIR/<base name of the key>`. With `noClobber`, an existing file is
 * refused before anything is downloaded.
 */
export async function downloadTarget(key: string, output: string | undefined, noClobber: boolean): Promise<DownloadTarget> {
  if (output === STDOUT_PATH) return stdoutTarget();
  const isDir = output !== undefined && (output.endsWith('/') || (await isDirectory(output)));
  if (isDir && !(await isDirectory(output))) throw new UsageError(`-o ${output}: no such directory`);
  let path = output ?? '';
  if (output === undefined || isDir) {
    const name = basename(key);
    if (name === '' || name === '.' || name === '..') throw new UsageError(`cannot derive a file name from key "${key}": pass -o PATH`);
    path = output === undefined ? name : join(output, name);
  }
  if (noClobber && (await stat(path).catch(() => null)) !== null) throw new OperationError(`${path} exists and --no-clobber was given`);
  return { path, finish: () => Promise.resolve(), cleanup: () => Promise.resolve() };
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() === true;
}

/**
 * The engine writes blocks positionally and verifies the MD5 only at the end, so a stdout target
 * downloads into a private temporary file first: nothing unverified ever reaches the pipe, and the
 * bytes then go out in order.
 */
async function stdoutTarget(): Promise<DownloadTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'step-stdout-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'download');
  return {
    path,
    async finish() {
      try {
        await pipeline(createReadStream(path), process.stdout, { end: false });
      } finally {
        await cleanup();
      }
    },
    cleanup,
  };
}
