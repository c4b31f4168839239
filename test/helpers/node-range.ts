/**
 * Whether a Node version satisfies an `engines.node` range of the forms packages use
 * (`>=20`, `^22.12.0 || >=24`, `>=18 <25`, `20.x`, `*`). Enough for the lockfile check, so the
 * tests need no semver dependency of their own; an unknown form fails loudly.
 */
export function nodeSatisfies(version: string, range: string): boolean {
  const v = parse(version);
  // `>= 14` and `>=14` are the same comparator.
  const normalized = range.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1');
  return normalized.split('||').some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .every((comparator) => matches(v, comparator)),
  );
}

type Triple = [number, number, number];

function parse(text: string): Triple {
  const parts = text
    .replace(/^v/, '')
    .split('.')
    .map((p) => (p === 'x' || p === '*' ? 0 : Number(p)));
  if (parts.some((p) => !Number.isInteger(p))) throw new Error(`cannot read version "${text}"`);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function matches(v: Triple, comparator: string): boolean {
  if (comparator === '' || comparator === '*' || comparator === 'x') return true;
  const match = /^(>=|<=|>|<|\^|~|=)?(.+)$/.exec(comparator);
  if (!match) throw new Error(`cannot read range "${comparator}"`);
  const [, op = '=', rest] = match;
  const target = parse(rest);
  const c = compare(v, target);
  if (op === '>=') return c >= 0;
  if (op === '>') return c > 0;
  if (op === '<=') return c <= 0;
  if (op === '<') return c < 0;
  if (op === '^') return c >= 0 && v[0] === target[0];
  if (op === '~') return c >= 0 && v[0] === target[0] && v[1] === target[1];
  // `20.x` / `20`: any version of that major (and minor, when given).
  const pieces = rest.split('.');
  return pieces.every((p, i) => p === 'x' || p === '*' || Number(p) === v[i]);
}
