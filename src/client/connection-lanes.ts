import type { StepClient } from './step-client.js';
import type { StepClientConnection } from './step-client.connection.js';

/**
 * One connection of a parallel transfer with a cap on its requests in flight. A dead connection
 * is replaced on the next use; concurrent users share the one reconnect.
 */
export class ConnectionLane {
  inFlight = 0;
  private current: Promise<StepClientConnection> | null = null;

  constructor(private readonly client: StepClient) {}

  /** The lane's live connection, reconnecting when the previous one died. */
  async connection(): Promise<StepClientConnection> {
    if (this.current) {
      const existing = await this.current.catch(() => null);
      if (existing && !existing.closed) return existing;
    }
    const pending = this.client.connect();
    this.current = pending;
    pending.catch(() => {
      if (this.current === pending) this.current = null;
    });
    return pending;
  }
}

/**
 * N lanes, each allowing `perLane` pipelined requests (replies come back in order per
 * connection, so pipelining hides the round trip; several connections spread the work).
 */
export class ConnectionLanes {
  private readonly lanes: ConnectionLane[];
  private readonly waiters: Array<(lane: ConnectionLane) => void> = [];

  constructor(
    client: StepClient,
    count: number,
    private perLane: number,
  ) {
    this.lanes = Array.from({ length: count }, () => new ConnectionLane(client));
  }

  /** Changes the requests allowed in flight per lane (adaptive transfers); a deeper pipe wakes waiters at once. */
  setPerLane(perLane: number): void {
    this.perLane = perLane;
    for (let lane = this.leastBusy(); lane && this.waiters.length > 0; lane = this.leastBusy()) {
      lane.inFlight++;
      this.waiters.shift()!(lane);
    }
  }

  /** Reserves one request slot on the least busy lane, waiting while all are full. */
  acquire(): Promise<ConnectionLane> {
    const lane = this.leastBusy();
    if (lane) {
      lane.inFlight++;
      return Promise.resolve(lane);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Returns a slot (kept from the waiters when the pipe has since become shallower). */
  release(lane: ConnectionLane): void {
    const waiter = lane.inFlight <= this.perLane ? this.waiters.shift() : undefined;
    if (waiter) waiter(lane);
    else lane.inFlight--;
  }

  private leastBusy(): ConnectionLane | null {
    let best: ConnectionLane | null = null;
    for (const lane of this.lanes) if (lane.inFlight < this.perLane && (!best || lane.inFlight < best.inFlight)) best = lane;
    return best;
  }
}
