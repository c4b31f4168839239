import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './step.config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.step.host).toBe('127.0.0.1');
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

  it('takes sizes with units in *_BYTES and block size variables; plain numbers stay bytes', () => {
    const config = loadConfig({
      STEP_MAX_FILE_BYTES: '64GiB',
      STEP_MIN_FREE_BYTES: '100MB',
      STEP_MAX_BLOCK_SIZE: '16MiB',
      STEP_USER_QUOTA_BYTES: '4096',
    });
    expect(config.storage.maxFileBytes).toBe(64 * 1024 ** 3);
    expect(config.storage.minFreeBytes).toBe(100_000_000);
    expect(config.storage.maxBlockSize).toBe(16 * 1024 ** 2);
    expect(config.storage.userQuotaBytes).toBe(4096);
    expect(() => loadConfig({ STEP_MAX_FILE_BYTES: '64 parsecs' })).toThrow(/STEP_MAX_FILE_BYTES="64 parsecs"/);
  });

  it('refuses timer settings Node would fire at once (above 2^31-1 ms)', () => {
    const tooLong = {
      STEP_EXPIRY_INTERVAL_SECONDS: String(2 ** 31 / 1000 + 1),
      STEP_FRAME_DEADLINE_MS: String(2 ** 31),
      STEP_SHUTDOWN_GRACE_MS: String(2 ** 31),
      STEP_IDLE_TIMEOUT_MS: String(2 ** 31),
      STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS: String(2 ** 31),
      STEP_TLS_HANDSHAKE_TIMEOUT_MS: String(2 ** 31),
    };
    let message = '';
    try {
      loadConfig(tooLong);
    } catch (err) {
      message = (err as ConfigError).message;
    }
    for (const name of Object.keys(tooLong)) expect(message).toContain(`${name}=`);
    const longest = loadConfig({
      STEP_FRAME_DEADLINE_MS: String(2 ** 31 - 1),
      STEP_EXPIRY_INTERVAL_SECONDS: String(Math.floor((2 ** 31 - 1) / 1000)),
    });
    expect(longest.step.frameDeadlineMs).toBe(2 ** 31 - 1);
  });

  it('reads the transport limits added for hostile clients, with their defaults', () => {
    const defaults = loadConfig({});
    expect(defaults.step).toMatchObject({
      unauthenticatedIdleTimeoutMs: 30_000,
      tlsHandshakeTimeoutMs: 10_000,
      maxPendingReplyBytes: 256 * 1024 * 1024,
    });
    const set = loadConfig({
      STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS: '5000',
      STEP_TLS_HANDSHAKE_TIMEOUT_MS: '2000',
      STEP_MAX_PENDING_REPLY_BYTES: '1048576',
    });
    expect(set.step).toMatchObject({ unauthenticatedIdleTimeoutMs: 5000, tlsHandshakeTimeoutMs: 2000, maxPendingReplyBytes: 1048576 });
  });
});
