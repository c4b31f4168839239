import { Injectable } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters, stored with every hash so they can be raised without breaking old ones. */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP's scrypt floor is N=2^17 r=8 p=1 for 128 MiB; 2^15 keeps a LOGIN near 0.1 s on a small server. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on stored parameters: a corrupted row must not make one LOGIN take minutes or gigabytes.
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const ENCODED = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function derive(password: string, salt: Buffer, keyBytes: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  // Node refuses scrypt above maxmem (32 MiB by default); 128*N*r is what it needs, give it twice that.
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function within(value: number, [min, max]: readonly [number, number]): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Salted scrypt password hashes (Node's crypto), encoded in the PHC string format
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (unpadded Base64), compared in constant time.
 */
@Injectable()
export class PasswordHasher {
  constructor(private readonly params: ScryptParams = DEFAULT_SCRYPT_PARAMS) {}

  /** Hashes `password` with a fresh random salt and the current parameters. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, KEY_BYTES, this.params);
    const { ln, r, p } = this.params;
    return `$scrypt$ln=${ln},r=${r},p=${p}$${unpadded(salt)}$${unpadded(key)}`;
  }

  /**
   * True when `password` matches `encoded`. The comparison is constant-time; a malformed
   * `encoded` is simply no match.
   */
  async verify(password: string, encoded: string): Promise<boolean> {
    const match = ENCODED.exec(encoded);
    if (!match) return false;
    const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
    if (!within(params.ln, LIMITS.ln) || !within(params.r, LIMITS.r) || !within(params.p, LIMITS.p)) return false;
    const salt = Buffer.from(match[4], 'base64');
    const expected = Buffer.from(match[5], 'base64');
    // scrypt's output for a shorter length is a prefix of the longer one: accept only full-length keys.
    if (salt.length < SALT_BYTES || expected.length !== KEY_BYTES) return false;
    const actual = await derive(password, salt, KEY_BYTES, params);
    return timingSafeEqual(actual, expected);
  }
}

function unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
