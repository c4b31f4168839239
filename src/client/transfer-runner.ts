import { ConnectionLanes, type ConnectionLane } from './connection-lanes.js';
import type { StepClient } from './step-client.js';

/**
 * The skeleton both engines share for one pass of a transfer: requests spread over pipelined
 * lanes, the set of requests in flight, and a latch that keeps the first failure. Once a request
 * has failed for good the pass starts nothing new; finish() lets those in flight settle first,
 * so no connection is closed under a request.
 */
export class TransferRunner {
  private failure: unknown = null;
  private failed = false;
  private readonly running = new Set<Promise<void>>();
  private readonly lanes: ConnectionLanes;

  constructor(
    client: StepClient,
    connections: number,
    inFlightPerConnection: number,
    private readonly onFailure?: () => void,
  ) {
    this.lanes = new ConnectionLanes(client, connections, inFlightPerConnection);
  }

  /** True once a request (or the caller, through fail()) has failed for good. */
  get stopped(): boolean {
    return this.failed;
  }

  /** Keeps the first failure and stops the pass. */
  fail(err: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.failure = err;
    }
    this.onFailure?.();
  }

  /** Changes the requests allowed in flight per connection (adaptive transfers). */
  setInFlight(perConnection: number): void {
    this.lanes.setPerLane(perConnection);
  }

  /**
   * Waits for a free request slot, then runs `work` on its lane without waiting for it; a
   * failure is latched. `settled` runs once the request is over, whatever its outcome.
   */
  async start(work: (lane: ConnectionLane) => Promise<void>, settled?: () => void): Promise<void> {
    const lane = await this.lanes.acquire();
    const task = work(lane)
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.lanes.release(lane);
        settled?.();
      });
    this.running.add(task);
    void task.then(() => this.running.delete(task));
  }

  /** Waits for every request started; throws the first failure. */
  async finish(): Promise<void> {
    await Promise.all(this.running);
    if (this.failed) throw this.failure;
  }
}
