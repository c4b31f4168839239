import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from './cli-errors.js';

/** One local file to upload and the key it goes to. */
export interface UploadSource {
  path: string;
  key: string;
}

/** How the upload arguments were given. */
export interface UploadSelection {
  key?: string;
  prefix?: string;
  recursive?: boolean;
}

/** Files one `-r` run may upload: a bound on what a mistyped directory can start. */
export const MAX_TREE_FILES = 100_000;

/** The argument that means standard input. */
export const STDIN_PATH = '-';

/**
 * Turns `upload` arguments into (path, key) pairs before anything is sent: a directory without
 * `-r`, `--key` with several files or `-` without `--key` are usage errors; a missing file fails
 * here (exit 3) rather than after earlier files went up.
 */
export async function collectUploads(paths: string[], selection: UploadSelection): Promise<UploadSource[]> {
  if (paths.length === 0) throw new UsageError('missing FILE (or -r DIR)');
  const prefix = selection.prefix ?? '';
  if (selection.key !== undefined && (paths.length > 1 || selection.recursive))
    throw new UsageError('--key takes exactly one FILE; use --prefix for several');
  if (paths.includes(STDIN_PATH)) {
    if (paths.length > 1 || selection.recursive) throw new UsageError('"-" (standard input) cannot be combined with other files or -r');
    if (selection.key === undefined) throw new UsageError('uploading standard input ("-") needs --key KEY');
    return [{ path: STDIN_PATH, key: selection.key }];
  }
  if (selection.recursive) {
    if (paths.length > 1) throw new UsageError('-r takes exactly one DIR');
    if (!(await stat(paths[0])).isDirectory()) throw new UsageError(`${paths[0]} is not a directory`);
    return walkTree(paths[0], prefix);
  }
  const sources: UploadSource[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) throw new UsageError(`${path} is a directory: pass -r to upload a tree`);
    sources.push({ path, key: selection.key ?? prefix + basename(path) });
  }
  return sources;
}

/** Every regular file under `root` (symlinks to files included), keyed `prefix` + relative path with `/`. */
async function walkTree(root: string, prefix: string): Promise<UploadSource[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const sources: UploadSource[] = [];
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    // Symlinks are followed to files only: following directory links could loop.
    const isFile = entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile() === true);
    if (!isFile) continue;
    if (sources.length === MAX_TREE_FILES) throw new UsageError(`${root} holds more than ${MAX_TREE_FILES} files; upload parts of it`);
    sources.push({ path, key: prefix + relative(root, path).split(sep).join('/') });
  }
  // Sorted so a re-run resumes in the same order and output is stable.
  return sources.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Copies standard input into a private temporary file: the upload engine needs the size for its
 * plan and positional reads for retries. Returns the path and a cleanup.
 */
export async function spoolStdin(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'step-stdin-'));
  const path = join(dir, 'stdin');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(process.stdin, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { path, cleanup };
}
