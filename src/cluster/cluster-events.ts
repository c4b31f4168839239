import { EventEmitter } from 'node:events';

/** Receives the messages published on one channel. */
export type ClusterListener = (message: string) => void;

/**
 * Fire-and-forget messages to every instance (this one included), e.g. "this session was
 * revoked". Delivery is best effort: a listener that must not miss a change also rechecks the
 * database on its own schedule.
 */
export abstract class ClusterEvents {
  /** Sends `message` (a short string) to every subscriber of `channel` in every instance. */
  abstract publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` for each message published on `channel` from now on. */
  abstract subscribe(channel: string, listener: ClusterListener): void;
}

/** One process is the whole cluster (SQLite): messages go to this process's listeners. */
export class LocalClusterEvents extends ClusterEvents {
  private readonly emitter = new EventEmitter();

  publish(channel: string, message: string): Promise<void> {
    this.emitter.emit(channel, message);
    return Promise.resolve();
  }

  subscribe(channel: string, listener: ClusterListener): void {
    this.emitter.on(channel, listener);
  }
}
