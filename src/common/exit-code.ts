/**
 * Exit statuses of both binaries, `step` and `stepd`: scripts and service managers branch on
 * them, so they are public interface (README, `step --help`). `stepd` uses OK, FAILED and USAGE.
 */
export enum ExitCode {
  OK = 0,
  /** Any other failure (`stepd`: the operation failed, or `check-config` found a problem). */
  FAILED = 1,
  /** A bad command line, nothing was sent (`stepd`: also an invalid configuration). */
  USAGE = 2,
  NOT_FOUND = 3,
  AUTH = 4,
  /** Network failure or a server temporarily unavailable: retrying may help. */
  UNAVAILABLE = 5,
  /** MD5 mismatch. */
  INTEGRITY = 6,
}
