/** Exit status of `stepd` for a failed operation (unknown user, name taken, database error). */
export const EXIT_FAILURE = 1;
/** Exit status of `stepd` for a usage error (bad arguments, no password, invalid config). */
export const EXIT_USAGE = 2;

/** A `stepd` failure with the one-line message and exit status the user gets. */
export class ManageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'ManageError';
  }

  /** Exit 2: the command line was wrong. */
  static usage(message: string): ManageError {
    return new ManageError(message, EXIT_USAGE);
  }
}
