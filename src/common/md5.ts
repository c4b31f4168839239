import { createHash } from 'node:crypto';

/** Lower-case hex MD5 of a string (UTF-8) or bytes. */
export function md5Hex(input: string | Buffer): string {
  return createHash('md5').update(input).digest('hex');
}

/** Lower-case hex SHA-256 of a string (UTF-8). */
export function sha256Hex(input: string): string {
  return createHash('sha256').update(input).digest('hex');
}
