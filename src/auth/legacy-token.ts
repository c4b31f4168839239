import { md5Hex } from '../common/md5.js';

/** Why a legacy token was refused (maps to the 403 messages of docs/protocol.md §2). */
export type LegacyTokenProblem = 'format' | 'signature';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TOKEN_TEXT = /^([^.]+)\.(\d{14})\.login\.([0-9a-f]{32})$/;

function timestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/**
 * Issues a token in the reference server's format (docs/protocol.md §3), which some clients check locally:
 * Base64 of `<user>.<YYYYmmddHHMMSS>.login.<md5(<user>.<ts>.login + secret)>`, `.` in the user
 * name replaced by `_`.
 */
export function issueLegacyToken(username: string, nowMs: number, secret: string): string {
  const body = `${username.replaceAll('.', '_')}.${timestamp(nowMs)}.login`;
  return Buffer.from(`${body}.${md5Hex(body + secret)}`, 'utf8').toString('base64');
}

/** Checks a legacy token's format and signature; the session table decides the rest. */
export function verifyLegacyToken(token: string, secret: string): LegacyTokenProblem | null {
  if (token.length === 0 || token.length > 2048 || token.length % 4 !== 0 || !BASE64.test(token)) return 'format';
  const match = TOKEN_TEXT.exec(Buffer.from(token, 'base64').toString('utf8'));
  if (!match) return 'format';
  const [, user, stamp, signature] = match;
  return md5Hex(`${user}.${stamp}.login${secret}`) === signature ? null : 'signature';
}
