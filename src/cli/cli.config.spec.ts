import { describe, expect, it } from 'vitest';
import { UsageError } from './cli-errors.js';
import { clientOptions, parseInteger, parseSize, parseServer, resolveSettings } from './cli.config.js';

describe('CLI settings', () => {
  it('parses HOST:PORT, HOST and [IPv6]:PORT', () => {
    expect(parseServer('example.org:2000')).toEqual({ host: 'example.org', port: 2000 });
    expect(parseServer('example.org')).toEqual({ host: 'example.org', port: 1379 });
    expect(parseServer('[::1]:1400')).toEqual({ host: '::1', port: 1400 });
    expect(() => parseServer('a:b:c')).toThrow(UsageError);
    expect(() => parseServer('h:0')).toThrow(UsageError);
  });

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
    expect(resolveSettings({ server: 'opt:2', user: 'u', password: 'p', json: true, timeout: '1.5' }, env)).toMatchObject({
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

  it('refuses bad numbers as usage errors', () => {
    expect(() => resolveSettings({ timeout: '0' }, {})).toThrow(UsageError);
    expect(() => resolveSettings({ timeout: 'soon' }, {})).toThrow(UsageError);
    expect(parseInteger('--n', '7', 1, 10)).toBe(7);
    expect(parseSize('--b', '4MiB', 512, 2 ** 28)).toBe(4 * 2 ** 20);
    expect(() => parseSize('--b', '1GiB', 512, 2 ** 28)).toThrow(/from 512 to/);
    expect(() => parseSize('--b', 'big', 512, 2 ** 28)).toThrow(UsageError);
    expect(() => parseInteger('--n', '11', 1, 10)).toThrow(/from 1 to 10/);
    expect(() => parseInteger('--n', '2.5', 1, 10)).toThrow(UsageError);
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
