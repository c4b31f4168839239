import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/step.config.js';
import { insecureLegacyRefusal, isLoopbackHost, legacyExposureWarning } from './exposure-warning.js';

describe('legacy exposure warning', () => {
  it('tells loopback addresses from reachable ones', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.org', '128.0.0.1', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('warns for legacy mode on a reachable address only', () => {
    const legacy = loadConfig({});
    const accounts = loadConfig({ STEP_AUTH_MODE: 'accounts' });
    expect(legacyExposureWarning(legacy, '0.0.0.0')).toMatch(/STEP_AUTH_MODE=legacy on 0\.0\.0\.0: .*MD5 of the user name/);
    expect(legacyExposureWarning(legacy, '::')).not.toBeNull();
    expect(legacyExposureWarning(legacy, '127.0.0.1')).toBeNull();
    expect(legacyExposureWarning(accounts, '0.0.0.0')).toBeNull();
  });

  it('refuses legacy mode with the reference secret on a reachable address unless STEP_ALLOW_INSECURE_LEGACY=1', () => {
    expect(insecureLegacyRefusal(loadConfig({ STEP_HOST: '0.0.0.0' }))).toMatch(/reference STEP_TOKEN_SECRET on 0\.0\.0\.0/);
    expect(insecureLegacyRefusal(loadConfig({}))).toBeNull();
    expect(insecureLegacyRefusal(loadConfig({ STEP_HOST: '0.0.0.0', STEP_ALLOW_INSECURE_LEGACY: '1' }))).toBeNull();
    expect(insecureLegacyRefusal(loadConfig({ STEP_HOST: '0.0.0.0', STEP_TOKEN_SECRET: 'not-the-reference' }))).toBeNull();
    expect(insecureLegacyRefusal(loadConfig({ STEP_HOST: '0.0.0.0', STEP_AUTH_MODE: 'accounts' }))).toBeNull();
  });
});
