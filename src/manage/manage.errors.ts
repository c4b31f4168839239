import { ExitCode } from '../common/exit-code.js';

/** A `stepd` failure with the one-line message and exit status the user gets. */
export class ManageError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.FAILED,
  ) {
    super(message);
    this.name = 'ManageError';
  }

  /** Exit 2: the command line was wrong (bad arguments, no password, invalid config). */
  static usage(message: string): ManageError {
    return new ManageError(message, ExitCode.USAGE);
  }
}
