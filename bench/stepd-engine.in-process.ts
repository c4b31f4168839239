import { access } from 'node:fs/promises';
import type { StepdClientEngine, StepdTarget, TransferResult } from './stepd-engine.js';

/** The parts of src/client (the `step` CLI's engines, issue 4) the bench uses. */
interface StepClientLike {
  close(): void;
}
interface ChosenLike {
  blockSize: number;
  inFlight?: number;
  connections?: number;
}
interface UploadResultLike extends ChosenLike {
  md5: string;
  serverMd5: string | null;
  verified: boolean;
}
interface DownloadResultLike extends ChosenLike {
  md5: string;
  verified: boolean;
}
interface ClientModules {
  StepClient: new (options: { host: string; port: number; username: string; timeoutMs?: number }) => StepClientLike;
  UploadEngine: new (client: StepClientLike, request: { path: string; key: string }) => { run(): Promise<UploadResultLike> };
  DownloadEngine: new (client: StepClientLike, request: { key: string; out: string }) => { run(): Promise<DownloadResultLike> };
}

const modulePath = (name: string) => new URL(`../src/client/${name}.js`, import.meta.url);
const MODULES = ['step-client', 'upload.engine', 'download.engine'];

/**
 * The CLI's own transfer engines (src/client), run in the bench process with the CLI's default
 * settings, one logged-in client per transfer; the bench times the whole call (connect, LOGIN,
 * plan, blocks, verification), as it does for the baseline. Loaded at run time so that the bench
 * builds whether or not the engines are in the tree yet.
 */
export class InProcessEngine implements StepdClientEngine {
  readonly description = 'src/client UploadEngine/DownloadEngine in-process, CLI defaults';
  readonly inProcess = true;

  private constructor(private readonly modules: ClientModules) {}

  /** The engine, or null when src/client has no transfer engines in this build. */
  static async load(): Promise<InProcessEngine | null> {
    const present = await Promise.all(
      MODULES.map((m) =>
        access(modulePath(m)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (present.includes(false)) return null;
    const [client, upload, download] = await Promise.all(MODULES.map((m) => import(modulePath(m).href)));
    return new InProcessEngine({ ...client, ...upload, ...download } as ClientModules);
  }

  async upload(target: StepdTarget, file: string, key: string): Promise<TransferResult> {
    return this.withClient(target, async (client) => {
      const result = await new this.modules.UploadEngine(client, { path: file, key }).run();
      if (!result.verified) throw new Error(`stepd upload of ${key}: md5 not verified (client ${result.md5}, server ${result.serverMd5})`);
      return { md5: result.md5, chosen: chosenOf(result) };
    });
  }

  async download(target: StepdTarget, key: string, output: string): Promise<TransferResult> {
    return this.withClient(target, async (client) => {
      const result = await new this.modules.DownloadEngine(client, { key, out: output }).run();
      if (!result.verified) throw new Error(`stepd download of ${key}: md5 not verified`);
      return { md5: result.md5, chosen: chosenOf(result) };
    });
  }

  private async withClient<T>(target: StepdTarget, work: (client: StepClientLike) => Promise<T>): Promise<T> {
    const client = new this.modules.StepClient({ host: target.host, port: target.port, username: target.user, timeoutMs: 120_000 });
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }
}

/** Block size, depth and connections, when the engine reports them (adaptive engines, issue 12). */
function chosenOf(result: ChosenLike): TransferResult['chosen'] {
  if (result.inFlight === undefined || result.connections === undefined) return undefined;
  return { blockSize: result.blockSize, inFlight: result.inFlight, connections: result.connections };
}
