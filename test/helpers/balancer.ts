import { startHaproxy, type InstancePorts } from '../../bench/haproxy.js';
import { freePort } from './postgres-server.js';
import { startRoundRobinProxy } from '../../bench/round-robin-proxy.js';

/** A TCP round-robin balancer in front of stepd instances. */
export interface Balancer {
  kind: 'proxy' | 'haproxy';
  /** The loopback port clients connect to. */
  port: number;
  /**
   * Takes instance `index` out of the rotation (or back). The test proxy does it at once;
   * haproxy ignores it: its health checks on /health notice a dead instance within ~4 s
   * (`inter 2s fall 2`), and until then a refused connect is redispatched to another instance.
   */
  setDown(index: number, down: boolean): void;
  close(): Promise<void>;
}

/**
 * The balancer of the multi-instance tests: the round-robin proxy of the test helpers, or with
 * STEP_BALANCER=haproxy (what .ci/run's "haproxy scenario" sets) a real haproxy running
 * deploy/haproxy.cfg rendered for these instances.
 */
export async function startBalancer(instances: InstancePorts[]): Promise<Balancer> {
  if (process.env.STEP_BALANCER === 'haproxy') {
    const haproxy = await startHaproxy(await freePort(), instances);
    return { kind: 'haproxy', port: haproxy.port, setDown: () => undefined, close: () => haproxy.close() };
  }
  const proxy = await startRoundRobinProxy(instances.map((instance) => ({ port: instance.stepPort })));
  return { kind: 'proxy', port: proxy.port, setDown: (index, down) => proxy.setDown(index, down), close: () => proxy.close() };
}
