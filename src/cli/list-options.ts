import { parseInteger } from './cli.config.js';

/**
 * Largest `limit` one LIST request may carry: the server refuses more (docs/protocol.md, LIST),
 * so the CLI refuses it first as a usage error.
 */
export const MAX_LIST_LIMIT = 10_000;

/** `--prefix`/`--limit` as `ls` and `data ls` take them, parsed. */
export interface ListOptions {
  prefix?: string;
  limit?: number;
}

/** Parses `--limit` (1 to MAX_LIST_LIMIT). */
export function parseListLimit(value: string): number {
  return parseInteger('--limit', value, 1, MAX_LIST_LIMIT);
}

/** The `prefix`/`limit` fields of a LIST request. */
export function listFields(options: ListOptions): Record<string, string | number> {
  const { prefix, limit } = options;
  return { ...(prefix === undefined ? {} : { prefix }), ...(limit === undefined ? {} : { limit }) };
}
