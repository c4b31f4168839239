import { EventEmitter } from 'node:events';

/** Receives the messages published on one channel. */
export type ClusterListener = (message: string) => void;

/** Channel names: lower-case identifiers (they are PostgreSQL LISTEN channels on a cluster). */
export const CLUSTER_CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Fire-and-forget messages to every instance (this one included), e.g. "this session was
 * revoked". Delivery is best effort: a listener that must not miss a change also rechecks the
 * database on its own schedule, and drops what it derived from earlier messages when told of a
 * gap (onGap).
 */
export abstract class ClusterEvents {
  /** Sends `message` (a short string) to every subscriber of `channel` in every instance. */
  abstract publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` for each message published on `channel` from now on. */
  abstract subscribe(channel: string, listener: ClusterListener): void;
  /** Calls `listener` after a period in which messages from other instances may have been lost. */
  abstract onGap(listener: () => void): void;
}

/** Throws unless `channel` is a valid channel name. */
export function checkChannel(channel: string): void {
  if (!CLUSTER_CHANNEL.test(channel)) throw new Error(`invalid cluster channel name "${channel}"`);
}

/** One process is the whole cluster (SQLite): messages go to this process's listeners. */
export class LocalClusterEvents extends ClusterEvents {
  private readonly emitter = new EventEmitter();

  publish(channel: string, message: string): Promise<void> {
    checkChannel(channel);
    this.emitter.emit(channel, message);
    return Promise.resolve();
  }

  subscribe(channel: string, listener: ClusterListener): void {
    checkChannel(channel);
    this.emitter.on(channel, listener);
  }

  onGap(): void {
    // Nothing is ever lost within one process.
  }
}
