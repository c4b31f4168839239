import { connect, createServer, type Server, type Socket } from 'node:net';

/** A backend the proxy forwards to. */
export interface ProxyBackend {
  host?: string;
  port: number;
}

/** A listening round-robin TCP proxy. */
export interface RoundRobinProxy {
  /** The loopback port clients connect to. */
  port: number;
  /** How many client connections went to each backend so far (by index). */
  connectionsPerBackend(): number[];
  /** Marks a backend down (skipped) or up again, like a failed or passed health check. */
  setDown(index: number, down: boolean): void;
  /** Stops listening and ends every open connection on both sides. */
  close(): Promise<void>;
}

/**
 * A TCP balancer for the multi-instance tests, standing in for haproxy's `balance roundrobin`:
 * each new client connection goes to the next backend not marked down; bytes are piped both
 * ways (with backpressure) and the two sockets close together. No health checks of its own:
 * when a backend refuses the connection, that client connection is closed (as haproxy does
 * without `check` once its connect retries are spent), and the next client goes to the next
 * backend. Tests mark a backend they killed down with `setDown`, as haproxy's checks would.
 */
export async function startRoundRobinProxy(backends: ProxyBackend[]): Promise<RoundRobinProxy> {
  if (backends.length === 0) throw new Error('round-robin proxy needs at least one backend');
  const down = backends.map(() => false);
  const counts = backends.map(() => 0);
  const sockets = new Set<Socket>();
  let next = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const pickBackend = (): number | null => {
    for (let tried = 0; tried < backends.length; tried += 1) {
      const index = next;
      next = (next + 1) % backends.length;
      if (!down[index]) return index;
    }
    return null;
  };

  const server: Server = createServer((client) => {
    track(client);
    const index = pickBackend();
    if (index === null) {
      client.destroy();
      return;
    }
    counts[index] += 1;
    const { host = '127.0.0.1', port } = backends[index];
    const upstream = connect({ host, port });
    track(upstream);
    // A reset or refusal on one side ends the other: no half-open pairs left behind.
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    connectionsPerBackend: () => [...counts],
    setDown(index, isDown) {
      down[index] = isDown;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
