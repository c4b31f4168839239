import { parseByteSize } from '../common/byte-size.js';
import { STEP_DEFAULT_PORT } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';

// The parsers `@Option` methods call: nest-commander hands each method the raw string and keeps
// what it returns, so a command's options reach it typed, and a bad value is a usage error
// (exit 2) before anything is sent.

/** Where a STEP server listens. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** Default `--server`. */
export const DEFAULT_SERVER = `127.0.0.1:${STEP_DEFAULT_PORT}`;
/** Default `--timeout`, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 24 * 3600;

/** Parses `HOST:PORT`, `HOST` or `[IPv6]:PORT` (`--server`, STEP_SERVER, a profile's `server`). */
export function parseServer(value: string): ServerAddress {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!match) throw new UsageError(`--server must be HOST:PORT, got "${value}"`);
  const port = match[2] === undefined ? STEP_DEFAULT_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--server port must be 1-65535, got "${match[2]}"`);
  return { host: match[1], port };
}

/** Parses `--timeout` in seconds (fractions allowed), more than 0 and at most a day. */
export function parseTimeout(value: string): number {
  const seconds = parseNumber('--timeout', value);
  if (seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) throw new UsageError(`--timeout must be between 0 and ${MAX_TIMEOUT_SECONDS} seconds`);
  return seconds;
}

/** Parses a number option, as a usage error when it is not one. */
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
