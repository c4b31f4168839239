import { Md5MismatchError } from '../client/download.engine.js';
import { isUnsupportedOperation, StepStatusError } from '../client/step-client.js';
import { StepConnectionError } from '../client/step-client.connection.js';

/** Exit codes of `step` (issue 4). */
export enum ExitCode {
  OK = 0,
  FAILED = 1,
  USAGE = 2,
}

/** The command line itself is wrong (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An operation failed for a reason already phrased for the user (exit 1). */
export class OperationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationError';
  }
}

/** One line saying why an operation failed, naming the STEP status when there is one. */
export function describeFailure(err: unknown): string {
  if (isUnsupportedOperation(err)) {
    const status = err as StepStatusError;
    return `the server does not support ${status.operation} (${status.status} ${status.statusMessage})`;
  }
  if (err instanceof StepStatusError) return `${err.status} ${err.statusMessage}`;
  if (err instanceof StepConnectionError) return err.code ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Md5MismatchError || err instanceof OperationError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
