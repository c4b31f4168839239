import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseByteSize } from '../common/byte-size.js';
import type { StepClientOptions } from '../client/step-client.js';
import { STEP_DEFAULT_PORT } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';
import { loadProfile } from './cli-profile.js';

/** Global options as commander hands them over (strings, or true for flags). */
export interface GlobalOptionValues {
  server?: string;
  user?: string;
  password?: string;
  passwordStdin?: boolean;
  profile?: string;
  json?: boolean;
  quiet?: boolean;
  timeout?: string;
  tls?: boolean;
  ca?: string;
}

/** Settings every command runs with, after options and environment are merged and checked. */
export interface CliSettings {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  /** Read the password from standard input (`--password-stdin`). */
  passwordStdin: boolean;
  json: boolean;
  /** Nothing on stderr but errors (no progress, no summaries of stdout downloads). */
  quiet: boolean;
  timeoutMs: number;
  tls: { ca?: Buffer } | undefined;
  /** Where `step login` keeps tokens (`$XDG_STATE_HOME`, default `~/.local/state`). */
  stateDir: string;
  /** Transfer defaults from the profile (flags override them). */
  connections?: number;
  blockSize?: number;
}

/** Default `--server`. */
export const DEFAULT_SERVER = `127.0.0.1:${STEP_DEFAULT_PORT}`;
const DEFAULT_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 24 * 3600;

/**
 * The only place the CLI reads its environment: STEP_SERVER, STEP_USER, STEP_PASSWORD, STEP_TLS,
 * STEP_CA and STEP_PROFILE fill in options that were not given on the command line, and a profile
 * of `$XDG_CONFIG_HOME/step/config.json` fills in what neither gave (flags > environment > profile).
 */
export function resolveSettings(options: GlobalOptionValues, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const home = env.HOME ?? homedir();
  const profileName = options.profile ?? env.STEP_PROFILE;
  const profile =
    profileName === undefined ? {} : loadProfile(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'step', 'config.json'), profileName);
  const { host, port } = parseServer(options.server ?? env.STEP_SERVER ?? profile.server ?? DEFAULT_SERVER);
  const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : parseNumber('--timeout', options.timeout);
  if (timeout <= 0 || timeout > MAX_TIMEOUT_SECONDS) throw new UsageError(`--timeout must be between 0 and ${MAX_TIMEOUT_SECONDS} seconds`);
  const ca = options.ca ?? env.STEP_CA ?? profile.ca;
  const tls = options.tls === true || ca !== undefined || env.STEP_TLS === '1' || env.STEP_TLS === 'true' || profile.tls === true;
  if (options.passwordStdin && options.password !== undefined) throw new UsageError('--password and --password-stdin exclude each other');
  return {
    host,
    port,
    username: options.user ?? env.STEP_USER ?? profile.user,
    password: options.passwordStdin ? undefined : (options.password ?? env.STEP_PASSWORD),
    passwordStdin: options.passwordStdin === true,
    json: options.json === true,
    quiet: options.quiet === true,
    timeoutMs: Math.round(timeout * 1000),
    tls: tls ? { ca: ca === undefined ? undefined : readCa(ca) } : undefined,
    stateDir: env.XDG_STATE_HOME || join(home, '.local', 'state'),
    connections: profile.connections,
    blockSize: profile.blockSize,
  };
}

/** Client options for commands that talk to the server (they need a user name). */
export function clientOptions(settings: CliSettings): StepClientOptions {
  if (!settings.username) throw new UsageError('no user: pass --user NAME or set STEP_USER');
  return {
    host: settings.host,
    port: settings.port,
    username: settings.username,
    password: settings.password,
    timeoutMs: settings.timeoutMs,
    // Verification stays on: --ca adds a trust anchor, it never switches checking off.
    tls: settings.tls ? { ca: settings.tls.ca, rejectUnauthorized: true } : undefined,
  };
}

/** Parses `HOST:PORT`, `HOST` or `[IPv6]:PORT`. */
export function parseServer(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!match) throw new UsageError(`--server must be HOST:PORT, got "${value}"`);
  const port = match[2] === undefined ? STEP_DEFAULT_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--server port must be 1-65535, got "${match[2]}"`);
  return { host: match[1], port };
}

/** Parses a positive number option, as a usage error when it is not one. */
export function parseNumber(flag: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`${flag} must be a number, got "${value}"`);
  return number;
}

/** Parses a size option (`4MiB`, `512K`, or plain bytes) within bounds. */
export function parseSize(flag: string, value: string, min: number, max: number): number {
  const bytes = parseByteSize(value);
  if (bytes === null) throw new UsageError(`${flag} must be a size such as 4MiB or 65536, got "${value}"`);
  if (bytes < min || bytes > max) throw new UsageError(`${flag} must be from ${min} to ${max} bytes, got "${value}"`);
  return bytes;
}

/** Parses an integer option within bounds. */
export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const number = parseNumber(flag, value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return number;
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --ca ${path}: ${(err as Error).message}`);
  }
}
