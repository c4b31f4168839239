import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { runCli, runCliPiped, type CliRun } from './helpers/cli-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

// The built `step` against a real stepd: several files, trees, empty files, pipes, -o DIR/,
// --force, --no-clobber, size units and the exit codes scripts rely on.
describe('step upload/download as people use cp, scp and aws s3', { timeout: 120_000 }, () => {
  let app: TestApp;
  let dir: string;
  let server: string;
  const step = (args: string[]): Promise<CliRun> => runCli(['--server', server, '--user', 'carol', ...args]);
  const json = (run: CliRun): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

  beforeAll(async () => {
    app = await startTestApp();
    server = `127.0.0.1:${app.stepAddress.port}`;
    dir = await mkdtemp(join(tmpdir(), 'step-transfers-e2e-'));
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('uploads several files under a prefix, and an empty file (C7) round-trips', async () => {
    const a = join(dir, 'a.bin');
    const empty = join(dir, 'empty.txt');
    const data = randomBytes(70_000);
    await writeFile(a, data);
    await writeFile(empty, '');
    const up = await step(['--json', 'upload', a, empty, '--prefix', 'multi/', '--block-size', '32KiB']);
    expect(up.code, up.stderr).toBe(0);
    expect(json(up).uploads).toMatchObject([
      { key: 'multi/a.bin', size: 70_000, md5: md5Hex(data), verified: true },
      { key: 'multi/empty.txt', size: 0, md5: EMPTY_MD5, verified: true },
    ]);
    // --block-size 32KiB reached the server as 32768 bytes.
    expect(json(await step(['--json', 'status', 'multi/a.bin']))).toMatchObject({ block_size: 32_768, complete: true });
    const out = join(dir, 'empty-copy.txt');
    const down = await step(['--json', 'download', 'multi/empty.txt', '-o', out]);
    expect(down.code, down.stderr).toBe(0);
    expect(json(down)).toMatchObject({ size: 0, md5: EMPTY_MD5, verified: true });
    expect((await stat(out)).size).toBe(0);
  });

  it('uploads a tree with -r: keys are the prefix plus the /-separated relative path', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    const files: Record<string, Buffer> = {
      'top.txt': randomBytes(100),
      'sub/mid.bin': randomBytes(50_000),
      'sub/deeper/none': Buffer.alloc(0),
    };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(tree, name), bytes);
    const up = await step(['--json', 'upload', '-r', tree, '--prefix', 't/']);
    expect(up.code, up.stderr).toBe(0);
    const ls = await step(['--json', 'ls', '--prefix', 't/']);
    const listed = (json(ls).files as Array<{ key: string; md5: string }>).map((f) => [f.key, f.md5]);
    expect(listed).toEqual(
      Object.entries(files)
        .map(([name, bytes]) => [`t/${name}`, md5Hex(bytes)])
        .sort(),
    );
  });

  it('refuses a directory without -r before sending anything (exit 2), a missing file with exit 3', async () => {
    const tree = join(dir, 'plain-dir');
    await mkdir(tree, { recursive: true });
    const file = join(dir, 'first.bin');
    await writeFile(file, randomBytes(10));
    const run = await step(['upload', file, tree]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/plain-dir is a directory: pass -r/);
    // Checked before anything was sent: not even the file before it went up.
    expect((await step(['status', 'first.bin'])).code).toBe(3);
    const missing = await step(['--json', 'upload', join(dir, 'no-such-file')]);
    expect(missing.code).toBe(3);
    expect(json(missing)).toEqual({ error: { message: expect.stringMatching(/no-such-file/) as unknown, retryable: false } });
  });

  it('reads standard input with "-" and writes standard output with -o -', async () => {
    const data = randomBytes(300_000);
    const env = { STEP_SERVER: server, STEP_USER: 'carol' };
    const up = await runCliPiped(['upload', '-', '--key', 'piped.bin', '--block-size', '64K'], env, data);
    expect(up.code, up.stderr).toBe(0);
    const down = await runCliPiped(['download', 'piped.bin', '-o', '-'], env, null);
    expect(down.code, down.stderr).toBe(0);
    expect(md5Hex(down.stdout)).toBe(md5Hex(data));
    expect(down.stdout.length).toBe(data.length);
    expect(down.stderr).toMatch(/^- {2}.* verified/);
  });

  it('writes DIR/<base name> for -o DIR/, and --no-clobber keeps an existing file', async () => {
    const data = randomBytes(5000);
    const src = join(dir, 'report.pdf');
    await writeFile(src, data);
    expect((await step(['upload', src, '--key', 'docs/2026/report.pdf'])).code).toBe(0);
    const target = join(dir, 'downloads');
    await mkdir(target);
    const down = await step(['--json', 'download', 'docs/2026/report.pdf', '-o', `${target}/`]);
    expect(down.code, down.stderr).toBe(0);
    expect(json(down).path).toBe(join(target, 'report.pdf'));
    expect(md5Hex(await readFile(join(target, 'report.pdf')))).toBe(md5Hex(data));
    await writeFile(join(target, 'report.pdf'), 'mine');
    const refused = await step(['download', 'docs/2026/report.pdf', '-o', target, '--no-clobber']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exists and --no-clobber/);
    expect(await readFile(join(target, 'report.pdf'), 'utf8')).toBe('mine');
    expect((await step(['download', 'k', '-o', join(dir, 'not-there/')])).code).toBe(2);
  });

  it('replaces a completed key only with --force; other content under the key is an integrity failure (exit 6)', async () => {
    const path = join(dir, 'v.bin');
    await writeFile(path, randomBytes(4000));
    expect((await step(['upload', path])).code).toBe(0);
    const second = randomBytes(4000);
    await writeFile(path, second);
    const clash = await step(['--json', 'upload', path]);
    expect(clash.code).toBe(6);
    expect(json(clash)).toMatchObject({ error: { message: expect.stringMatching(/md5 mismatch.*--force/) as unknown, retryable: false } });
    const forced = await step(['--json', 'upload', path, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ key: 'v.bin', md5: md5Hex(second), verified: true, resumed_blocks: 0 });
  });
});
