import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_PARAMS, PasswordHasher } from './password-hasher.js';

// Cheap parameters keep the suite fast; the default ones are checked once below.
const hasher = new PasswordHasher({ ln: 10, r: 8, p: 1 });

describe('PasswordHasher', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const encoded = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify('correct horse battery staple', encoded)).toBe(true);
    expect(await hasher.verify('correct horse battery stapler', encoded)).toBe(false);
    expect(await hasher.verify('', encoded)).toBe(false);
  });

  it('stores the parameters and a random salt with the hash', async () => {
    const a = await hasher.hash('same password');
    const b = await hasher.hash('same password');
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('verifies with the parameters stored in the hash, not the current ones', async () => {
    const old = await hasher.hash('s3cret-pass');
    const current = new PasswordHasher();
    expect(await current.verify('s3cret-pass', old)).toBe(true);
    const { ln, r, p } = DEFAULT_SCRYPT_PARAMS;
    expect(await current.hash('x')).toContain(`$scrypt$ln=${ln},r=${r},p=${p}$`);
  });

  it('treats malformed or out-of-bounds stored hashes as no match', async () => {
    const encoded = await hasher.hash('pw-pw-pw-pw');
    for (const bad of [
      '',
      'plain-text',
      encoded.replace('$scrypt$', '$argon2id$'),
      encoded.replace('ln=10', 'ln=40'),
      encoded.replace('r=8', 'r=0'),
      encoded.slice(0, -20),
    ]) {
      expect(await hasher.verify('pw-pw-pw-pw', bad)).toBe(false);
    }
  });

  it('normalises Unicode so the same password typed differently still matches', async () => {
    const composed = 'caf\u00e9-password';
    const decomposed = 'cafe\u0301-password';
    expect(await hasher.verify(decomposed, await hasher.hash(composed))).toBe(true);
  });
});
