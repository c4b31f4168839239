import type { Socket } from 'node:net';

/** Resolves once `socket` drained its write buffer, or closed (whichever comes first). */
export function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
