/** Multipliers of the units a size may carry: IEC and bare letters are binary, SI names decimal. */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  kb: 1e3,
  m: 2 ** 20,
  mib: 2 ** 20,
  mb: 1e6,
  g: 2 ** 30,
  gib: 2 ** 30,
  gb: 1e9,
  t: 2 ** 40,
  tib: 2 ** 40,
  tb: 1e12,
};

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/**
 * Parses `4MiB`, `64GiB`, `1.5G`, `500MB` or a plain number of bytes into bytes. Returns null when
 * the text is not a size or the result is not a whole, safe number of bytes (`0.5B`).
 */
export function parseByteSize(text: string): number | null {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) return null;
  const multiplier = UNITS[match[2].toLowerCase()];
  if (multiplier === undefined) return null;
  const bytes = Number(match[1]) * multiplier;
  return Number.isSafeInteger(bytes) ? bytes : null;
}
