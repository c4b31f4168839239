import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './step.config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.step.host).toBe('0.0.0.0');
    expect(config.step.port).toBe(1379);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.storage.dataDir.endsWith('/data')).toBe(true);
    expect(config.auth.tokenTtlSeconds).toBe(86400);
    expect(config.auth.tokenSecret).toBe('kjh20)*(1');
    expect(config.auth.mode).toBe('legacy');
  });

  it('lists every bad value in one readable error', () => {
    let error: unknown;
    try {
      loadConfig({ STEP_PORT: 'abc', HTTP_PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message } = error as ConfigError;
    expect(message).toContain('STEP_PORT="abc"');
    expect(message).toContain('HTTP_PORT="70000"');
    expect(message).toContain('LOG_LEVEL="loud"');
  });
});
