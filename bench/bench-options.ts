import { resolve } from 'node:path';
import { SMALL_CASE_NAMES, type SmallCaseName } from './small-requests.js';

/** The bench's cases, in the order they run within a round. */
export const CASE_NAMES = [
  'baseline',
  'peer',
  'upload',
  'download',
  'legacy-baseline',
  'legacy',
  'legacy-8',
  'concurrent',
  'pg-upload',
  'pg-balanced',
  'pg-legacy',
  'pg-legacy-8',
  'shaped',
] as const;
export type CaseName = (typeof CASE_NAMES)[number];
/** The cases on PostgreSQL (README "Scaling out"): they need a server, so they are asked for (`--cases pg` for all of them). */
const PG_CASE_NAMES: readonly CaseName[] = ['pg-upload', 'pg-balanced', 'pg-legacy', 'pg-legacy-8'];
/**
 * Cases run when --cases is not given: the shaped links take minutes at their rates, and the
 * PostgreSQL cases need a server, so both are asked for.
 */
const DEFAULT_CASES = CASE_NAMES.filter((name) => name !== 'shaped' && !PG_CASE_NAMES.includes(name));

/** A shaped link: bandwidth per direction and added round-trip time (through bench/pacing-proxy). */
export interface LinkSpec {
  label: string;
  bitsPerSecond: number;
  addedRttMs: number;
}

/** Parses `2mbit`, `20mbit+50ms`, `512kbit`. */
export function parseLink(text: string): LinkSpec {
  const match = /^\s*(\d+(?:\.\d+)?)(k|m)bit(?:\+(\d+)ms)?\s*$/i.exec(text);
  if (!match) throw new BenchUsageError(`--links: cannot read "${text}" (e.g. 2mbit, 20mbit+50ms)`);
  const bitsPerSecond = Number(match[1]) * (match[2].toLowerCase() === 'k' ? 1e3 : 1e6);
  if (bitsPerSecond < 64e3) throw new BenchUsageError('--links: at least 64kbit');
  return { label: text.trim(), bitsPerSecond, addedRttMs: match[3] ? Number(match[3]) : 0 };
}

/** Parsed command line. */
export interface BenchOptions {
  size: number;
  runs: number;
  json: boolean;
  cases: CaseName[];
  /** The small-request cases (requests per second rather than MB/s). */
  smallCases: SmallCaseName[];
  smoke: boolean;
  /** Passes --cpu-prof to every server child, profiles written there on exit. */
  cpuProfileDir: string | null;
  /** Links of the `shaped` case, and the file it moves over each. */
  links: LinkSpec[];
  linkSize: number;
  /** Server the PostgreSQL cases create their databases on (null: STEP_TEST_DATABASE_URL, else the machine's). */
  databaseUrl: string | null;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Parses sizes like `256MiB`, `1GiB`, `64MB`, `1000000` (MB/GB are powers of ten). */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new BenchUsageError(`--size: cannot read "${text}" (e.g. 64MiB, 1GiB, 1000000)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1) throw new BenchUsageError('--size must be at least 1 byte');
  return bytes;
}

/** A bad bench command line (or --help, with an empty message); main prints it with the usage and exits 2 (0 for --help). */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/** `--cases small` stands for every small-request case, `--cases pg` for every PostgreSQL case. */
const SMALL_GROUP = 'small';
const PG_GROUP = 'pg';

export const USAGE = `usage: npm run bench -- [--size 256MiB] [--runs 3] [--cases ${DEFAULT_CASES.join(',')},small] [--json] [--smoke] [--cpu-prof DIR]
                       [--links 2mbit,20mbit,20mbit+50ms] [--link-size 16MiB]
                       [--database-url postgres://user@host:5432/db]
  --size   test file size (default 256MiB; 1GiB for the headline figure)
  --runs   runs per case, alternated round-robin (default 3)
  --cases  comma-separated subset of: ${CASE_NAMES.join(', ')},
           ${SMALL_CASE_NAMES.join(', ')}, or small for all of the latter, pg for all pg-* cases
           (default: all but shaped and pg-*; e.g. upload,legacy,pg for the scale-out ratios)
  --links  the shaped case's links: bandwidth per direction, optionally +RTT added (default 2mbit,20mbit,20mbit+50ms)
  --link-size  file moved over each shaped link (default 16MiB)
  --database-url  PostgreSQL server of the pg-* cases, which create a fresh database on it and drop it
           (default: STEP_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
  --json   print one JSON object instead of the table
  --smoke  a tiny file and one run (what the test suite runs)
  --cpu-prof DIR  run every server child with node --cpu-prof, profiles written to DIR`;

const DEFAULT_LINKS = ['2mbit', '20mbit', '20mbit+50ms'];

/** A tiny size with a partial last block, so the smoke run exercises the remainder path. */
const SMOKE_SIZE = 5 * 1024 * 1024 + 12_345;

/** Parses argv (without node and the script). */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const options: BenchOptions = {
    size: 256 * 1024 ** 2,
    runs: 3,
    json: false,
    cases: [...DEFAULT_CASES],
    smallCases: [...SMALL_CASE_NAMES],
    smoke: false,
    cpuProfileDir: null,
    links: DEFAULT_LINKS.map(parseLink),
    linkSize: 16 * 1024 ** 2,
    databaseUrl: null,
  };
  let sizeGiven = false;
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BenchUsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--size') {
      options.size = parseSize(value());
      sizeGiven = true;
    } else if (flag === '--runs') {
      options.runs = Number(value());
      if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 100)
        throw new BenchUsageError('--runs must be an integer from 1 to 100');
      runsGiven = true;
    } else if (flag === '--cases') {
      const names = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const known: readonly string[] = [...CASE_NAMES, ...SMALL_CASE_NAMES, SMALL_GROUP, PG_GROUP];
      const unknown = names.filter((n) => !known.includes(n));
      if (unknown.length || names.length === 0)
        throw new BenchUsageError(`--cases: unknown ${unknown.join(', ') || '(empty)'}; known: ${known.join(', ')}`);
      options.cases = CASE_NAMES.filter((n) => names.includes(n) || (names.includes(PG_GROUP) && PG_CASE_NAMES.includes(n)));
      options.smallCases = SMALL_CASE_NAMES.filter((n) => names.includes(n) || names.includes(SMALL_GROUP));
    } else if (flag === '--json') options.json = true;
    else if (flag === '--smoke') options.smoke = true;
    else if (flag === '--cpu-prof') options.cpuProfileDir = resolve(value());
    else if (flag === '--links')
      options.links = value()
        .split(',')
        .filter((s) => s.trim())
        .map(parseLink);
    else if (flag === '--link-size') options.linkSize = parseSize(value());
    else if (flag === '--database-url') options.databaseUrl = value();
    else if (flag === '--help' || flag === '-h') throw new BenchUsageError('');
    else throw new BenchUsageError(`unknown option ${argv[i]}`);
  }
  if (options.smoke) {
    if (!sizeGiven) options.size = SMOKE_SIZE;
    if (!runsGiven) options.runs = 1;
  }
  return options;
}
