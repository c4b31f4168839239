import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeText, numberPlaceholders, unescapeText } from './postgres-sql-runner.js';

describe('PostgresSqlRunner text and placeholders', () => {
  it('numbers ? placeholders, leaving those inside quoted literals', () => {
    expect(numberPlaceholders(`SELECT ? , '?', ? WHERE a = ?`)).toBe(`SELECT $1 , '?', $2 WHERE a = $3`);
  });

  it('escapes NUL so that order, prefixes and the text itself survive', () => {
    expect(escapeText('a\u0000b')).not.toContain('\u0000');
    expect(escapeText('plain key')).toBe('plain key');
    const text = fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u0002', 'a', 'é') });
    fc.assert(
      fc.property(text, text, (a, b) => {
        const [ea, eb] = [escapeText(a), escapeText(b)];
        expect(unescapeText(ea)).toBe(a);
        expect(Math.sign(Buffer.compare(Buffer.from(ea), Buffer.from(eb)))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
        expect(eb.startsWith(ea)).toBe(b.startsWith(a));
      }),
    );
  });
});
