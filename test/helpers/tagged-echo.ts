import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP server answering every chunk with `<name>:<chunk>`, so a reply tells which backend served it. */
export interface TaggedEcho extends Server {
  port: number;
  /** Connections currently open. */
  open: Set<Socket>;
}

/** Starts a TaggedEcho on an ephemeral loopback port. */
export async function startTaggedEcho(name: string): Promise<TaggedEcho> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('data', (chunk) => socket.write(`${name}:${chunk.toString()}`));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(server, { port: (server.address() as { port: number }).port, open });
}

/** Sends `text` to a loopback port and returns the first answer, or `closed` when the peer ends the connection. */
export function askTagged(port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (answer: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    socket.once('connect', () => socket.write(text));
    socket.once('data', (chunk) => finish(chunk.toString()));
    socket.once('close', () => finish('closed'));
    socket.once('error', () => undefined);
  });
}
