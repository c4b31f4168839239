import { readFileSync } from 'node:fs';
import { MAX_ACCEPTED_BLOCK_SIZE } from '../client/transfer.types.js';
import { parseByteSize } from '../common/byte-size.js';
import { UsageError } from './cli-errors.js';
import { MAX_CONNECTIONS, MIN_BLOCK_SIZE } from './transfer-options.js';

/** One profile of `config.json`, checked. */
export interface CliProfile {
  server?: string;
  user?: string;
  tls?: boolean;
  ca?: string;
  connections?: number;
  blockSize?: number;
}

/**
 * Reads profile `name` of `{"profiles": {"NAME": {"server", "user", "tls", "ca", "connections",
 * "block_size"}}}`. A missing file, profile or a wrongly typed field is a usage error naming it.
 */
export function loadProfile(file: string, name: string): CliProfile {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`profile "${name}": cannot read ${file}: ${(err as Error).message}`);
  }
  const profiles = (document as { profiles?: unknown } | null)?.profiles;
  const raw = profiles !== null && typeof profiles === 'object' ? (profiles as Record<string, unknown>)[name] : undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`profile "${name}" is not in ${file}`);
  const fields = raw as Record<string, unknown>;
  const bad = (field: string, want: string) => new UsageError(`profile "${name}" in ${file}: "${field}" has to be ${want}`);
  const text = (field: string): string | undefined => {
    const value = fields[field];
    if (value !== undefined && typeof value !== 'string') throw bad(field, 'a string');
    return value;
  };
  if (fields.tls !== undefined && typeof fields.tls !== 'boolean') throw bad('tls', 'true or false');
  const connections = fields.connections;
  if (
    connections !== undefined &&
    !(Number.isInteger(connections) && (connections as number) >= 1 && (connections as number) <= MAX_CONNECTIONS)
  ) {
    throw bad('connections', `an integer from 1 to ${MAX_CONNECTIONS}`);
  }
  const blockSize = fields.block_size === undefined ? undefined : parseByteSize(String(fields.block_size));
  if (blockSize === null || (blockSize !== undefined && (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_ACCEPTED_BLOCK_SIZE))) {
    throw bad('block_size', `a size from ${MIN_BLOCK_SIZE} to ${MAX_ACCEPTED_BLOCK_SIZE} bytes (e.g. "4MiB")`);
  }
  return {
    server: text('server'),
    user: text('user'),
    ca: text('ca'),
    tls: fields.tls as boolean | undefined,
    connections: connections as number | undefined,
    blockSize,
  };
}
