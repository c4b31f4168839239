import { describe, expect, it } from 'vitest';
import { issueLegacyToken } from './legacy-token.js';
import { isRandomTokenFormat, issueRandomToken } from './random-token.js';

describe('random token', () => {
  it('carries 256 bits as 43 Base64url characters, never twice the same', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => issueRandomToken()));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) {
      expect(isRandomTokenFormat(token)).toBe(true);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('never mistakes a legacy token (or anything else) for a random one', () => {
    for (const username of ['a', 'alice', 'bob.smith', 'x'.repeat(40)]) {
      expect(isRandomTokenFormat(issueLegacyToken(username, Date.UTC(2026, 0, 1), 'kjh20)*(1'))).toBe(false);
    }
    for (const other of ['', 'short', `${issueRandomToken()}=`, `${issueRandomToken()}x`, 'a'.repeat(42) + '!']) {
      expect(isRandomTokenFormat(other)).toBe(false);
    }
  });
});
