/** Message types of STEP v1.0 (plus the reply-only types the reference server uses). */
export enum StepType {
  FILE = 'FILE',
  DATA = 'DATA',
  AUTH = 'AUTH',
}

/** Operations of STEP v1.0 and stepd's extensions (spec part C). */
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

/** Values of the `direction` field. `EARTH` is the protocol's easter egg (spec A3.1). */
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

/** Builds the key under which a handler is registered and looked up. */
export function stepPatternKey(type: string, operation: string): string {
  return `${type}:${operation}`;
}

/** The only requests that carry a binary section (spec A6); any other with one is refused (400). */
export const STEP_BINARY_PATTERNS: ReadonlySet<string> = new Set([stepPatternKey(StepType.FILE, StepOperation.UPLOAD)]);

/** Requests whose reply carries a block (it waits for reply budget, see StepServerOptions). */
export const STEP_BLOCK_REPLY_PATTERNS: ReadonlySet<string> = new Set([stepPatternKey(StepType.FILE, StepOperation.DOWNLOAD)]);
