import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { StepClientConnection, StepConnectionError } from '../src/client/step-client.connection.js';
import { Clock } from '../src/common/clock.js';
import { md5Hex } from '../src/common/md5.js';
import { UploadRecoveryService } from '../src/files/upload-recovery.service.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { uploadBlocks, uploadStatus } from './helpers/step-upload.js';
import { login, request, startTestApp } from './helpers/test-app.js';

const ROUNDS = 5;
const FILES = 4;
const BLOCK_SIZE = 4096;

interface TrackedFile {
  key: string;
  content: Buffer;
  md5: string;
  planned: boolean;
  /** Blocks the server acknowledged with 200: none of them may ever be missing again. */
  acked: Set<number>;
  completeMd5?: string;
}

/** A small seeded PRNG (mulberry32) so a failing run can be replayed from its printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Brings one file as far as it gets on this server: plan (or resume from STATUS), then blocks. */
async function advance(server: ServerProcess, file: TrackedFile, random: () => number): Promise<void> {
  const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 10_000 });
  try {
    const token = await login(conn, 'crash');
    let missing: number[];
    const status = file.planned ? await uploadStatus(conn, token, file.key) : null;
    if (status && status.status === 200) {
      // Durability: an acknowledged block is never reported missing after a crash.
      for (const index of file.acked) expect(status.missing, `${file.key} lost acknowledged block ${index}`).not.toContain(index);
      if (status.complete) {
        expect(status.md5).toBe(file.md5);
        file.completeMd5 = status.md5;
        return;
      }
      missing = status.missing;
    } else {
      // Only a plan whose reply never arrived may be unknown after a crash.
      expect(file.acked.size, `${file.key} vanished after blocks were acknowledged`).toBe(0);
      const plan = await conn.request(
        request({ type: 'FILE', operation: 'SAVE', token, key: file.key, size: file.content.length, block_size: BLOCK_SIZE }),
      );
      expect(plan.json).toMatchObject({ status: 200, block_size: BLOCK_SIZE });
      file.planned = true;
      missing = Array.from({ length: plan.json.total_block as number }, (_, i) => i);
    }
    await uploadBlocks(conn, token, file.key, file.content, BLOCK_SIZE, shuffle(missing, random), (index, reply) => {
      file.acked.add(index);
      if (reply.json.md5) file.completeMd5 = reply.json.md5 as string;
    });
  } finally {
    conn.close();
  }
}

async function downloadAll(server: ServerProcess, key: string): Promise<{ md5: string; content: Buffer }> {
  const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 10_000 });
  try {
    const token = await login(conn, 'crash');
    const plan = await conn.request(request({ type: 'FILE', operation: 'GET', token, key }));
    expect(plan.json.status).toBe(200);
    const blocks = await Promise.all(
      Array.from({ length: plan.json.total_block as number }, (_, i) =>
        conn.request(request({ type: 'FILE', operation: 'DOWNLOAD', token, key, block_index: i })),
      ),
    );
    return { md5: plan.json.md5 as string, content: Buffer.concat(blocks.map((b) => b.binary ?? Buffer.alloc(0))) };
  } finally {
    conn.close();
  }
}

describe('crash loop', () => {
  const dirs: string[] = [];
  let server: ServerProcess | null = null;

  afterAll(async () => {
    await server?.kill();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it(
    `SIGKILL during parallel uploads, ${ROUNDS} rounds: every file ends complete and correct, no acknowledged block lost`,
    { timeout: 180_000 },
    async () => {
      const seed = Date.now() % 2 ** 31;
      const random = prng(seed);
      const dataDir = await mkdtemp(join(tmpdir(), 'stepd-crash-'));
      dirs.push(dataDir);
      const files: TrackedFile[] = Array.from({ length: FILES }, (_, i) => {
        const content = randomBytes(1024 * 1024 + Math.floor(random() * 2 * 1024 * 1024));
        return { key: `crash/file-${i}.bin`, content, md5: md5Hex(content), planned: false, acked: new Set<number>() };
      });
      let interrupted = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const running = await startServerProcess(dataDir);
        server = running;
        const last = round === ROUNDS - 1;
        // The kill lands at a random moment of the uploads (or after them, which is fine too).
        const killed = last
          ? Promise.resolve()
          : new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 250))).then(() => running.kill());
        const results = await Promise.allSettled(files.map((file) => advance(running, file, random)));
        await killed;
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          // A request cut by the kill fails with a connection error; anything else is a real failure.
          if (!last && result.reason instanceof StepConnectionError) {
            interrupted++;
            continue;
          }
          throw new Error(`seed ${seed}, round ${round}: ${(result.reason as Error).message}`);
        }
      }
      // The kills must have cut uploads short, or the test proves nothing.
      expect(interrupted, `seed ${seed}`).toBeGreaterThan(0);
      console.log(`crash loop: seed ${seed}, ${interrupted} uploads cut by SIGKILL`);
      for (const file of files) {
        expect(file.completeMd5, `${file.key} (seed ${seed})`).toBe(file.md5);
        const downloaded = await downloadAll(server!, file.key);
        expect(downloaded.md5).toBe(file.md5);
        expect(downloaded.content.equals(file.content)).toBe(true);
      }
      await server!.stop();
      server = null;

      // Orphans: a kill between creating a partial file and inserting its row leaves a file no
      // row owns. The sweep spares files younger than a minute, so the expiry job runs with the
      // clock two minutes ahead; afterwards only the completed files remain on disk.
      const app = await startTestApp({ STEP_DATA_DIR: dataDir });
      try {
        const clock = app.app.get(Clock);
        const now = clock.now();
        vi.spyOn(clock, 'now').mockReturnValue(now + 120_000);
        await app.app.get(UploadRecoveryService).runExpiry();
        expect(await readdir(join(dataDir, 'uploads'))).toEqual([]);
        expect(await readdir(join(dataDir, 'files'))).toHaveLength(FILES);
        const conn = await app.connect();
        const token = await login(conn, 'crash');
        for (const file of files) {
          const plan = await conn.request(request({ type: 'FILE', operation: 'GET', token, key: file.key }));
          expect(plan.json).toMatchObject({ status: 200, md5: file.md5 });
        }
      } finally {
        vi.restoreAllMocks();
        await app.stop();
      }
    },
  );
});
