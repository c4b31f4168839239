import { describe, expect, it } from 'vitest';
import { md5Hex } from '../common/md5.js';
import { issueLegacyToken, verifyLegacyToken } from './legacy-token.js';

const SECRET = 'kjh20)*(1';

describe('legacy token', () => {
  it('has the reference format: base64 of user.timestamp.login.md5', () => {
    const token = issueLegacyToken('alice.b', Date.UTC(2026, 10, 25, 21, 5, 9), SECRET);
    const text = Buffer.from(token, 'base64').toString('utf8');
    const body = 'alice_b.20261125210509.login';
    expect(text).toBe(`${body}.${md5Hex(body + SECRET)}`);
    expect(verifyLegacyToken(token, SECRET)).toBeNull();
  });

  it('refuses garbage as a format problem and a forged signature as a signature problem', () => {
    expect(verifyLegacyToken('not base64!', SECRET)).toBe('format');
    expect(verifyLegacyToken(Buffer.from('bob.2026.login.x').toString('base64'), SECRET)).toBe('format');
    const forged = Buffer.from(`bob.20261125210509.login.${md5Hex('bob.20261125210509.login' + 'other')}`).toString('base64');
    expect(verifyLegacyToken(forged, SECRET)).toBe('signature');
    expect(verifyLegacyToken(issueLegacyToken('bob', 0, 'other-secret'), SECRET)).toBe('signature');
  });
});
