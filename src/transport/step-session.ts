/** Who sent a request: set on the StepContext by the auth guard once the token checks out. */
export interface StepSession {
  /** The login name, exactly as given at LOGIN. */
  readonly username: string;
  /** Server-side session id (row of the sessions table). */
  readonly sessionId: string;
}
