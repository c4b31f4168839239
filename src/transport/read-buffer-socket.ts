import { Socket } from 'node:net';

/**
 * Re-wraps an accepted plain-TCP socket (accepted with `pauseOnConnect`, so nothing was read
 * yet) so that Node reads into `buffer`, reused for every read, and hands each read to `onChunk`
 * as a view of it (net's documented `onread` option, which net.Server offers no way to pass).
 *
 * Why: by default every read allocates a fresh 64 KiB ArrayBuffer. At line rate that is
 * thousands of ArrayBuffers a second, which V8 counts as external memory; with stepd's small
 * heap that sets off frequent full mark-compacts, and the fresh pages cost page faults.
 *
 * The view is only valid during the call: `onChunk` must copy whatever it keeps (FrameDecoder
 * with ChunkOwnership.Transient). One buffer can serve every socket of a process, since Node reads and
 * delivers one socket at a time on the main thread. Returns null when the socket is not one
 * this can adopt (a TLS socket, a socket already reading, a Node where adopting throws), which
 * then keeps working as it was.
 */
export function adoptWithReadBuffer(socket: Socket, buffer: Buffer, onChunk: (chunk: Buffer) => void): Socket | null {
  // `_handle` is net's private field; checked at run time so that another Node just falls back.
  const shell = socket as Socket & { _handle?: { readStart?: unknown; reading?: boolean } | null };
  const handle = shell._handle;
  if (!handle || typeof handle.readStart !== 'function' || handle.reading) return null;
  let adopted: Socket;
  try {
    adopted = adoptHandle(handle, socket.allowHalfOpen, buffer, onChunk);
  } catch {
    // Node's internals differ from what this expects: keep the socket as it is, reading normally.
    return null;
  }
  // The shell gives up the handle, so destroying it (which keeps net.Server's count right)
  // leaves the connection open under its new owner.
  shell._handle = null;
  socket.destroy();
  return adopted;
}

/** A new Socket owning `handle`, reading into `buffer` (throws if this Node does not allow it). */
function adoptHandle(handle: object, allowHalfOpen: boolean, buffer: Buffer, onChunk: (chunk: Buffer) => void): Socket {
  return new Socket({
    handle,
    allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (bytes: number, into: Uint8Array) => {
        onChunk((into as Buffer).subarray(0, bytes));
      },
    },
  } as ConstructorParameters<typeof Socket>[0] & { handle: unknown });
}
