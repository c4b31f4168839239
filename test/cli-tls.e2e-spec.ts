import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate } from './helpers/certificate.js';
import { runCli } from './helpers/cli-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

describe('step CLI over TLS (--tls, --ca)', { timeout: 180_000 }, () => {
  let dir: string;
  let app: TestApp;
  let server: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-cli-tls-'));
    // A throw-away self-signed certificate for 127.0.0.1 (it is its own CA).
    const { cert, key } = await makeCertificate(dir);
    app = await startTestApp({ STEP_TLS_CERT: cert, STEP_TLS_KEY: key });
    server = `127.0.0.1:${app.stepAddress.port}`;
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in through TLS when the certificate is trusted with --ca (or STEP_CA)', async () => {
    const run = await runCli(['--server', server, '--user', 'alice', '--ca', join(dir, 'cert.pem'), '--json', 'login']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ user: 'alice' });
    const fromEnv = await runCli(['login'], { STEP_SERVER: server, STEP_USER: 'alice', STEP_TLS: '1', STEP_CA: join(dir, 'cert.pem') });
    expect(fromEnv.code).toBe(0);
  });

  it('refuses an untrusted certificate: verification is on by default', async () => {
    const run = await runCli(['--server', server, '--user', 'alice', '--tls', '--timeout', '5', 'login']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^step: login failed: .*(self-signed|self signed|certificate)/i);
  });

  it('exits 2 when the --ca file cannot be read', async () => {
    const run = await runCli(['--server', server, '--user', 'alice', '--ca', join(dir, 'missing.pem'), 'login']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot read --ca/);
  });
});
