/** Message types of STEP v1.0 (plus the reply-only types the reference server uses). */
export enum StepType {
  FILE = 'FILE',
  DATA = 'DATA',
  AUTH = 'AUTH',
}

/** Operations of STEP v1.0 and stepd's extensions (docs/protocol.md §9). */
export enum StepOperation {
  SAVE = 'SAVE',
  DELETE = 'DELETE',
  GET = 'GET',
  UPLOAD = 'UPLOAD',
  DOWNLOAD = 'DOWNLOAD',
  BYE = 'BYE',
  LOGIN = 'LOGIN',
  STATUS = 'STATUS',
  LIST = 'LIST',
  LOGOUT = 'LOGOUT',
}

/** Values of the `direction` field. `EARTH` is the protocol's easter egg (docs/protocol.md §2). */
export enum StepDirection {
  REQUEST = 'REQUEST',
  RESPONSE = 'RESPONSE',
  EARTH = 'EARTH',
}

/** Reply-only values of `operation` / `type`. */
export const REPLY_ERROR = 'ERROR';
export const REPLY_3BODY = '3BODY';
export const REPLY_DANGEROUS = 'DANGEROUS';

export const STEP_TYPES: ReadonlySet<string> = new Set(Object.values(StepType));
export const STEP_OPERATIONS: ReadonlySet<string> = new Set(Object.values(StepOperation));

/** Default TCP port of STEP. */
export const STEP_DEFAULT_PORT = 1379;
/** Block size every old client hard-codes; granted whenever a request does not ask for another. */
export const STEP_DEFAULT_BLOCK_SIZE = 20480;

/** Entries a LIST returns when its request has no `limit` (docs/protocol.md §7). */
export const STEP_LIST_LIMIT_DEFAULT = 1000;
/** Largest `limit` a LIST request may ask for (docs/protocol.md §7). */
export const STEP_LIST_LIMIT_MAX = 10_000;
/** Missing ranges a STATUS reply lists at most; more are flagged `missing_ranges_truncated` (docs/protocol.md §6). */
export const STEP_STATUS_MAX_RANGES = 10_000;

/** Builds the key under which a handler is registered and looked up. */
export function stepPatternKey(type: string, operation: string): string {
  return `${type}:${operation}`;
}
