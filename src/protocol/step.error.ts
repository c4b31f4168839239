import { StepStatus } from './step-status.js';

/** Options that change how an error reply is framed. */
export interface StepErrorOptions {
  /** Overrides the reply's `operation` and `type` (docs/protocol.md §2: `ERROR`/`ERROR`, `3BODY`/`DANGEROUS`). */
  envelope?: { operation: string; type: string };
  /** Extra fields to put in the reply (e.g. the `key` the request named). */
  fields?: Record<string, unknown>;
  /** Close the connection after the reply (framing can no longer be trusted). */
  closeConnection?: boolean;
}

/**
 * The one error vocabulary of stepd: a STEP status plus the `status_msg` the client sees.
 * Services throw it; the exception filter and the transport turn it into a reply frame.
 */
export class StepError extends Error {
  constructor(
    readonly status: StepStatus,
    message: string,
    readonly options: StepErrorOptions = {},
  ) {
    // A refusal (4xx: no token, no such key, a bad field) is an answer, not a fault: nothing
    // reads its stack, and capturing one (async frames included) cost more than the rest of a
    // small request's dispatch. Server faults (5xx) keep theirs for the log.
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'StepError';
  }

  /** 400 for a field of the wrong type or shape (stepd answers where the old server went silent). */
  static badField(message: string): StepError {
    return new StepError(StepStatus.COMPULSORY_FIELD_MISSING, message);
  }

  /** 410 `"<field>" has to be a field for <OPERATION>`. */
  static fieldMissing(field: string, operation: string): StepError {
    return new StepError(StepStatus.FIELD_MISSING, `"${field}" has to be a field for ${operation}`);
  }

  /** 404 `The key <key> is not existing.` */
  static keyNotFound(key: string): StepError {
    return new StepError(StepStatus.KEY_NOT_FOUND, `The key ${key} is not existing.`, { fields: { key } });
  }

  /** 408 `Operation <op> is not allowed for type <type>`: a valid operation this type does not have (docs/protocol.md §2). */
  static notAllowedForType(operation: unknown, type: unknown): StepError {
    return new StepError(StepStatus.OPERATION_NOT_ALLOWED, `Operation ${String(operation)} is not allowed for type ${String(type)}`);
  }

  /** 500 with a generic message: internals never reach the client. */
  static internal(): StepError {
    return new StepError(StepStatus.INTERNAL, 'Internal server error.');
  }
}
