import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the built server entry point (tests run after `npm run build`). */
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** A stepd running as a child process (for kill -9 and restart tests). */
export interface ServerProcess {
  child: ChildProcess;
  stepPort: number;
  httpPort: number;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/src/main.js` on ephemeral loopback ports with the given data dir and waits
 * (bounded) until it prints where it listens.
 */
export function startServerProcess(dataDir: string, env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: {
      PATH: process.env.PATH,
      STEP_HOST: '127.0.0.1',
      STEP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      STEP_DATA_DIR: dataDir,
      LOG_LEVEL: 'log',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const step = /STEP(?: over TLS)? listening on [^\s]+:(\d+)/.exec(out);
      const http = /HTTP listening on http:\/\/[^\s]+:(\d+)/.exec(out);
      if (step && http) {
        clearTimeout(timer);
        resolve({
          child,
          stepPort: Number(step[1]),
          httpPort: Number(http[1]),
          output: () => out,
          kill: async () => {
            child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}
