import { randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
const RANDOM_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh accounts-mode token: 256 random bits, Base64url (43 characters, no padding). */
export function issueRandomToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * True when `token` has the shape of a random token. Legacy tokens never do (their padded
 * Base64 length is a multiple of 4), so accounts mode refuses them before any lookup.
 */
export function isRandomTokenFormat(token: string): boolean {
  return RANDOM_TOKEN.test(token);
}
