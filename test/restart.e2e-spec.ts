import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StepClientConnection } from '../src/client/step-client.connection.js';
import { downloadAll, fileRequest, md5Of, savePlan, uploadBlocks } from './helpers/step-files.js';
import { openTestSql } from './helpers/database-sql.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { login, startTestApp } from './helpers/test-app.js';

describe('restart safety', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  });

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'stepd-restart-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  async function serve(dataDir: string): Promise<ServerProcess> {
    const server = await startServerProcess(dataDir);
    cleanup.push(() => server.kill());
    return server;
  }

  async function connect(server: ServerProcess): Promise<StepClientConnection> {
    const conn = await StepClientConnection.connect({ host: '127.0.0.1', port: server.stepPort, timeoutMs: 15_000 });
    cleanup.push(async () => conn.close());
    return conn;
  }

  it('resumes an upload after SIGKILL: STATUS lists exactly what is missing, the md5 matches', async () => {
    const dataDir = await tempDir();
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const first = await serve(dataDir);
    const conn = await connect(first);
    const token = await login(conn, 'alice');
    const plan = await savePlan(conn, token, 'big', data.length);
    const acknowledged = Array.from({ length: 60 }, (_, i) => i * 2); // every other block of the first 120
    const replies = await uploadBlocks([conn], token, 'big', data, plan.block_size, acknowledged);
    expect(replies.every((r) => r.json.status === 200)).toBe(true);
    // More blocks in flight while the process dies: they may or may not have landed.
    for (let i = 121; i < 140; i++)
      void conn
        .request(
          fileRequest(token, 'UPLOAD', { key: 'big', block_index: i }),
          data.subarray(i * plan.block_size, (i + 1) * plan.block_size),
        )
        .catch(() => undefined);
    await first.kill();

    const second = await serve(dataDir);
    const conn2 = await connect(second);
    // Sessions live in SQLite: the token from before the crash still works.
    const status = await conn2.request(fileRequest(token, 'STATUS', { key: 'big' }));
    expect(status.json.status).toBe(200);
    const missing = (status.json.missing_ranges as Array<[number, number]>).flatMap(([a, b]) =>
      Array.from({ length: b - a + 1 }, (_, k) => a + k),
    );
    for (const index of acknowledged) expect(missing).not.toContain(index);
    expect(status.json.received_count).toBe(plan.total_block - missing.length);
    const rest = await uploadBlocks([conn2], token, 'big', data, plan.block_size, missing);
    const final = rest.find((r) => r.json.md5 !== undefined);
    expect(final?.json.md5).toBe(md5Of(data));
    const download = await downloadAll(conn2, token, 'big');
    expect(download.data.equals(data)).toBe(true);
  });

  it('finishes a completion interrupted before or after the rename, with the md5 of the bytes on disk', async () => {
    const dataDir = await tempDir();
    const before = randomBytes(70_000);
    const after = randomBytes(50_000);
    let app = await startTestApp({ STEP_DATA_DIR: dataDir });
    let conn = await app.connect();
    let token = await login(conn);
    for (const [key, data] of [
      ['before-rename', before],
      ['after-rename', after],
    ] as const) {
      const plan = await savePlan(conn, token, key, data.length);
      await uploadBlocks(
        [conn],
        token,
        key,
        data,
        plan.block_size,
        Array.from({ length: plan.total_block }, (_, i) => i),
      );
    }
    await app.stop();

    // Put the database and files back into the two states a crash inside completion can leave.
    const db = await openTestSql(dataDir);
    const rows = await db.all<{ key: string; storage_name: string }>(`SELECT key, storage_name FROM uploads`);
    for (const row of rows) {
      await db.all(`UPDATE uploads SET state = 'completing', md5 = $1 WHERE key = $2`, ['0'.repeat(32), row.key]);
      if (row.key === 'before-rename')
        await rename(join(dataDir, 'files', row.storage_name), join(dataDir, 'uploads', `${row.storage_name}.part`));
    }
    await db.close();

    app = await startTestApp({ STEP_DATA_DIR: dataDir });
    cleanup.push(() => app.stop());
    conn = await app.connect();
    token = await login(conn);
    for (const [key, data] of [
      ['before-rename', before],
      ['after-rename', after],
    ] as const) {
      const download = await downloadAll(conn, token, key);
      expect(download.plan.md5).toBe(md5Of(data));
      expect(download.data.equals(data)).toBe(true);
    }
  });
});

describe('expiry of abandoned uploads', () => {
  it('drops uploads idle for STEP_UPLOAD_TTL_SECONDS and frees their disk space', async () => {
    const app = await startTestApp({ STEP_UPLOAD_TTL_SECONDS: '1' });
    try {
      const conn = await app.connect();
      const token = await login(conn);
      await savePlan(conn, token, 'abandoned', 100_000);
      await savePlan(conn, token, 'fresh', 10);
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(join(app.dataDir, 'uploads'))).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 1100));
      await savePlan(conn, token, 'fresh', 10); // activity renews it (a restart from zero is activity)
      const { UploadRecoveryService } = await import('../src/files/upload-recovery.service.js');
      await app.app.get(UploadRecoveryService).runExpiry();
      expect((await conn.request(fileRequest(token, 'STATUS', { key: 'abandoned' }))).json.status).toBe(404);
      expect((await conn.request(fileRequest(token, 'STATUS', { key: 'fresh' }))).json.status).toBe(200);
      expect(await readdir(join(app.dataDir, 'uploads'))).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });
});
