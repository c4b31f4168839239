import { describe, expect, it } from 'vitest';
import { UsageError } from './cli-errors.js';
import { clientOptions, resolveSettings } from './cli.config.js';

describe('CLI settings', () => {
  it('prefers options over the environment and the environment over defaults', () => {
    const env = { STEP_SERVER: 'envhost:1', STEP_USER: 'envuser', STEP_PASSWORD: 'envpw' };
    expect(resolveSettings({}, env)).toMatchObject({
      host: 'envhost',
      port: 1,
      username: 'envuser',
      password: 'envpw',
      json: false,
      timeoutMs: 30_000,
      tls: undefined,
    });
    const server = { host: 'opt', port: 2 };
    expect(resolveSettings({ server, user: 'u', password: 'p', json: true, timeout: 1.5 }, env)).toMatchObject({
      host: 'opt',
      port: 2,
      username: 'u',
      password: 'p',
      json: true,
      timeoutMs: 1500,
    });
    expect(resolveSettings({}, {})).toMatchObject({ host: '127.0.0.1', port: 1379, username: undefined, password: undefined });
  });

  it('turns TLS on with --tls or STEP_TLS, verification always on', () => {
    expect(clientOptions(resolveSettings({ tls: true, user: 'u' }, {})).tls).toEqual({ ca: undefined, rejectUnauthorized: true });
    expect(resolveSettings({}, { STEP_TLS: '1' }).tls).toBeDefined();
    expect(() => resolveSettings({ ca: '/no/such/ca.pem' }, {})).toThrow(/cannot read --ca/);
  });

  it('refuses a bad STEP_SERVER, both password sources and a missing user as usage errors', () => {
    expect(() => resolveSettings({}, { STEP_SERVER: 'h:0' })).toThrow(/--server port/);
    expect(resolveSettings({ server: { host: 'h', port: 1 } }, { STEP_SERVER: 'h:0' })).toMatchObject({ host: 'h', port: 1 });
    expect(() => resolveSettings({ password: 'p', passwordStdin: true }, {})).toThrow(UsageError);
    expect(() => clientOptions(resolveSettings({}, {}))).toThrow(/no user/);
  });
});

describe('progress ETA', () => {
  it('estimates from the average rate since the start, from the first update on', async () => {
    const { eta } = await import('./cli-output.service.js');
    // 1 % of 256 MiB moved in 0.5 s: about 50 s left, not "0s".
    expect(eta(2.56 * 2 ** 20, 253.44 * 2 ** 20, 0.5)).toBe('50s');
    expect(eta(0, 100, 1)).toBe('--');
    expect(eta(100, 0, 1)).toBe('0s');
    expect(eta(1, 600, 1)).toBe('10m00s');
    expect(eta(1, 7200, 1)).toBe('2h00m');
  });
});
