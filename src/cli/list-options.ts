import type { StepClient } from '../client/step-client.js';
import { STEP_LIST_LIMIT_DEFAULT, type StepOperation, type StepType } from '../protocol/index.js';
import { parseInteger } from './option-parsers.js';

/** Most entries one `ls` prints (it pages through LIST to get there). */
export const MAX_LIST_LIMIT = 1_000_000;
/** Entries asked for per LIST request: the server's default page, well under its cap (STEP_LIST_LIMIT_MAX). */
const PAGE_SIZE = STEP_LIST_LIMIT_DEFAULT;

/** `--prefix`/`--limit` as `ls` and `data ls` take them, parsed. */
export interface ListOptions {
  prefix?: string;
  limit?: number;
}

/** Parses `--limit` (1 to MAX_LIST_LIMIT). */
export function parseListLimit(value: string): number {
  return parseInteger('--limit', value, 1, MAX_LIST_LIMIT);
}

/** How to page one kind of LIST. */
export interface ListPaging<T> {
  type: StepType;
  operation: StepOperation.LIST;
  /** Extra request fields (e.g. `incomplete`). */
  fields?: Record<string, unknown>;
  /** The entries of one reply. */
  entries(json: Record<string, unknown>): T[];
  /** The key of an entry (the paging cursor). */
  key(entry: T): string;
}

/**
 * Pages through LIST with `after` (keys come in order) until `--limit` entries or the end,
 * calling `onPage` for each page so text output streams. A server that ignores `after` (it sends
 * a page that does not move past the last key) ends the listing instead of looping.
 */
export async function listAll<T>(
  client: StepClient,
  options: ListOptions,
  paging: ListPaging<T>,
  onPage: (entries: T[]) => void,
): Promise<void> {
  const limit = options.limit ?? MAX_LIST_LIMIT;
  let after: string | undefined;
  for (let listed = 0; listed < limit;) {
    const size = Math.min(PAGE_SIZE, limit - listed);
    const fields = {
      ...paging.fields,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      limit: size,
      ...(after === undefined ? {} : { after }),
    };
    const { json } = await client.call(paging.type, paging.operation, fields);
    let page = paging.entries(json);
    if (after !== undefined) page = page.filter((entry) => paging.key(entry) > after!);
    page = page.slice(0, limit - listed);
    if (page.length > 0) onPage(page);
    listed += page.length;
    if (page.length < size) return;
    after = paging.key(page[page.length - 1]);
  }
}
