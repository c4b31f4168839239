import { StepError, StepStatus } from '../protocol/index.js';

/**
 * A cluster lock was not granted within the wait bound (a holder elsewhere is stuck, e.g. on a
 * hung shared volume): the request is answered 503 and may be retried, instead of piling up.
 */
export class ClusterLockTimeoutError extends StepError {
  constructor(readonly lockName: string) {
    super(StepStatus.UNAVAILABLE, 'The server is busy with this key; try again.');
    this.name = 'ClusterLockTimeoutError';
  }
}

/**
 * The connection holding a cluster lock broke while its holder ran: another instance may have
 * entered the same section meanwhile, so the holder's result cannot be trusted (answered 500).
 */
export class ClusterLockLostError extends StepError {
  constructor(
    readonly lockName: string,
    readonly reason: string,
  ) {
    super(StepStatus.INTERNAL, 'Internal server error.');
    this.name = 'ClusterLockLostError';
  }
}
