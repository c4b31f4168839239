import { Md5MismatchError } from '../client/download.engine.js';
import { isUnsupportedOperation, StepStatusError } from '../client/step-client.js';
import { StepConnectionError } from '../client/step-client.connection.js';
import { ExitCode } from '../common/exit-code.js';
import { StepStatus } from '../protocol/index.js';

/** The `--help` footer that documents the exit codes (`ExitCode`). */
export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  other failure
  2  usage error (bad command line; nothing was sent)
  3  not found (no such key on the server, or no such local file)
  4  authentication or permission refused
  5  network failure or server temporarily unavailable (retrying may help)
  6  integrity failure (MD5 mismatch)
`;

/** The command line itself is wrong (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An operation failed for a reason already phrased for the user (exit 1 unless `exitCode` says otherwise). */
export class OperationError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.FAILED,
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

/** Statuses a server sends when it is busy or briefly failing (retrying later may help; docs/protocol.md §9). */
const UNAVAILABLE_STATUSES = new Set<number>([StepStatus.TOO_MANY, StepStatus.INTERNAL, StepStatus.UNAVAILABLE]);
/** Statuses that refuse the credentials or the token. */
const AUTH_STATUSES = new Set<number>([StepStatus.PASSWORD_ERROR, StepStatus.TOKEN_INVALID]);
/** Connection failures that may pass: refused (server restarting), reset, timed out, unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** Local file-system errors named by exit code. */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM']);

/** The exit code a failure maps to. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof OperationError) return err.exitCode;
  if (err instanceof Md5MismatchError) return ExitCode.INTEGRITY;
  if (err instanceof StepStatusError) {
    if (err.status === StepStatus.KEY_NOT_FOUND) return ExitCode.NOT_FOUND;
    if (AUTH_STATUSES.has(err.status)) return ExitCode.AUTH;
    if (UNAVAILABLE_STATUSES.has(err.status)) return ExitCode.UNAVAILABLE;
    return ExitCode.FAILED;
  }
  // Only network trouble is worth retrying: a peer that does not speak STEP (EPROTO) or a
  // certificate that fails verification will fail the same way again.
  if (err instanceof StepConnectionError)
    return err.code !== undefined && NETWORK_CODES.has(err.code) ? ExitCode.UNAVAILABLE : ExitCode.FAILED;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && NOT_FOUND_CODES.has(code)) return ExitCode.NOT_FOUND;
  if (code !== undefined && PERMISSION_CODES.has(code)) return ExitCode.AUTH;
  return ExitCode.FAILED;
}

/** The `--json` failure object: `{"error": {"message", "status"?, "retryable"}}`. */
export function failureJson(err: unknown): { error: { message: string; status?: number; retryable: boolean } } {
  const status = err instanceof StepStatusError ? { status: err.status } : {};
  return { error: { message: describeFailure(err), ...status, retryable: exitCodeOf(err) === ExitCode.UNAVAILABLE } };
}

/** One line saying why an operation failed, naming the STEP status when there is one. */
export function describeFailure(err: unknown): string {
  if (isUnsupportedOperation(err)) {
    const status = err as StepStatusError;
    return `the server does not support ${status.operation} (${status.status} ${status.statusMessage})`;
  }
  if (err instanceof StepStatusError) return `${err.status} ${err.statusMessage}`;
  if (err instanceof StepConnectionError) return err.code ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
