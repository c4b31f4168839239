import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForCli, type CliRun } from './helpers/cli-process.js';
import { startServerProcess } from './helpers/server-process.js';

const STEPD = fileURLToPath(new URL('../dist/src/manage/main.js', import.meta.url));

type Run = Pick<CliRun, 'code' | 'stdout' | 'stderr'>;

/** Runs the built `stepd ARGS` with only PATH and `env`, from a scratch working directory. */
function stepd(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const child = spawn(process.execPath, [STEPD, ...args], {
    env: { PATH: process.env.PATH, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return waitForCli(child);
}

// The operator's side of the built `stepd`: serve, check-config, users on the right database.
describe('stepd for operators', { timeout: 120_000 }, () => {
  let root: string;
  let version: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stepd-operator-'));
    version = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('prints its version', async () => {
    expect(await stepd(['--version'], {}, root)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('users: refuses to create a database where none is unless --init; reads --env-file; warns in legacy mode', async () => {
    const dataDir = join(root, 'users-data');
    // From the wrong directory (./data does not exist there): refused, nothing created.
    const wrong = await stepd(['users', 'ls'], {}, root);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/no database at .*stepd\.sqlite .*--init/);
    expect(existsSync(join(root, 'data'))).toBe(false);
    const envFile = join(root, 'stepd.env');
    await writeFile(envFile, `# as the systemd unit reads it\nSTEP_DATA_DIR=${dataDir}\nSTEP_AUTH_MODE=accounts\n`);
    const init = await stepd(['users', 'add', 'erin', '--password', 'erin-password', '--env-file', envFile, '--init'], {}, root);
    expect(init).toMatchObject({ code: 0, stderr: '', stdout: 'user "erin" added\n' });
    expect(existsSync(join(dataDir, 'stepd.sqlite'))).toBe(true);
    // --data-dir without the env file: legacy mode (the default), so the accounts would do nothing.
    const legacy = await stepd(['users', 'ls', '--data-dir', dataDir], {}, root);
    expect(legacy.code).toBe(0);
    expect(legacy.stdout).toMatch(/^erin\t/);
    expect(legacy.stderr).toMatch(/warning: STEP_AUTH_MODE is legacy/);
    // Node 20 itself reads --env-file wherever it stands and stops first when the file is missing.
    const missing = await stepd(['users', 'ls', '--env-file', join(root, 'missing.env')], {}, root);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/missing\.env/);
  });

  it('check-config prints the effective configuration with secrets masked, exit 0/1', async () => {
    const env = {
      STEP_DATA_DIR: root,
      STEP_MAX_FILE_BYTES: '64GiB',
      STEP_ADMIN_TOKEN: 'admin-token-0123456789',
      STEP_TOKEN_SECRET: 'my-own-secret',
      STEP_DATABASE_URL: 'postgres://stepd:db-password-42@127.0.0.1:5432/stepd',
      STEP_INSTANCE_ID: 'node-a',
    };
    const ok = await stepd(['check-config'], env, root);
    expect(ok.code).toBe(0);
    const effective = JSON.parse(ok.stdout) as {
      storage: { maxFileBytes: number };
      auth: { tokenSecret: string };
      admin: { token: string };
      database: { url: string };
      instance: { id: string };
    };
    expect(effective.database.url).toBe('postgres://stepd:********@127.0.0.1:5432/stepd');
    expect(effective.instance.id).toBe('node-a');
    expect(ok.stdout).not.toContain('db-password-42');
    expect(effective.storage.maxFileBytes).toBe(64 * 1024 ** 3);
    expect(effective.auth.tokenSecret).toBe('********');
    expect(effective.admin.token).toBe('********');
    expect(ok.stdout).not.toContain('my-own-secret');
    expect(ok.stderr).toBe('stepd: configuration OK\n');
    const bad = await stepd(['check-config'], { STEP_PORT: 'many' }, root);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/STEP_PORT="many"/);
    const notPostgres = await stepd(['check-config'], { STEP_DATABASE_URL: 'mysql://root@127.0.0.1/stepd' }, root);
    expect(notPostgres.code).toBe(1);
    expect(notPostgres.stderr).toMatch(/STEP_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    const exposed = await stepd(['check-config'], { STEP_HOST: '0.0.0.0' }, root);
    expect(exposed.code).toBe(1);
    expect(exposed.stderr).toMatch(/refusing to serve legacy auth .*STEP_ALLOW_INSECURE_LEGACY=1/);
    expect((await stepd(['check-config'], { STEP_HOST: '0.0.0.0', STEP_ALLOW_INSECURE_LEGACY: '1' }, root)).code).toBe(0);
  });

  it('serve refuses legacy auth with the reference secret on a reachable address, and otherwise names its version when it starts', async () => {
    const refused = await stepd(
      ['serve'],
      { STEP_HOST: '0.0.0.0', STEP_PORT: '0', HTTP_PORT: '0', STEP_DATA_DIR: join(root, 'refused') },
      root,
    );
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).toMatch(/refusing to serve legacy auth/);
    const server = await startServerProcess(join(root, 'served'), {}, 30_000, [STEPD, 'serve']);
    try {
      expect(server.output()).toContain(`stepd ${version}: STEP listening on 127.0.0.1:${server.stepPort}`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('serve with an unreachable database reports it and exits 1 (no abort, no hang)', async () => {
    // Port 1 on loopback: nothing listens there, so every connection attempt is refused at once.
    const down = await stepd(
      ['serve'],
      { STEP_PORT: '0', HTTP_PORT: '0', STEP_DATA_DIR: join(root, 'no-db'), STEP_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/stepd' },
      root,
    );
    expect(down.code, down.stderr).toBe(1);
    expect(down.stderr).toMatch(/stepd: failed: .*ECONNREFUSED/);
  });

  it('deploy/: the env example passes check-config in accounts mode; Docker and systemd start `stepd serve`', async () => {
    const example = fileURLToPath(new URL('../deploy/stepd.env.example', import.meta.url));
    const check = await stepd(['check-config', '--env-file', example, '--data-dir', root], {}, root);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ step: { host: '0.0.0.0' }, auth: { mode: 'accounts' }, log: { format: 'json' } });
    const dockerfile = await readFile(new URL('../deploy/Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/STEP_AUTH_MODE=accounts/);
    expect(dockerfile).not.toMatch(/HTTP_HOST=0\.0\.0\.0 \\/);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/src\/manage\/main\.js", "serve"\]$/m);
    const unit = await readFile(new URL('../deploy/stepd.service', import.meta.url), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/stepd\/dist\/src\/manage\/main\.js serve$/m);
    expect(unit).not.toMatch(/\/usr\/bin\/node/);
  });
});
