import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * The instances sharing one database. Each process has a fresh `self` id per start; an instance
 * is live while it keeps renewing its lease. Jobs that clean up after dead instances (recovery,
 * expiry, the orphan sweep) leave alone whatever a live instance other than `self` is serving.
 */
export abstract class InstanceRegistry {
  /** This process's id (a UUID, new at every start). */
  readonly self = randomUUID();

  /** @param name the operator's name for this instance (STEP_INSTANCE_ID), for logs, metrics and /health. */
  constructor(readonly name: string = hostname()) {}

  /** Ids of every instance whose lease has not expired, `self` included. */
  abstract liveInstances(): Promise<ReadonlySet<string>>;
}

/** One process is the whole cluster (SQLite): only `self` is live. */
export class LocalInstanceRegistry extends InstanceRegistry {
  liveInstances(): Promise<ReadonlySet<string>> {
    return Promise.resolve(new Set([this.self]));
  }
}
