import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { Clock } from '../src/common/clock.js';
import { BlockStorage } from '../src/files/block-storage.repository.js';
import { FileCatalogService } from '../src/files/file-catalog.service.js';
import { UploadLedger } from '../src/files/upload-ledger.repository.js';
import { UploadRecoveryService } from '../src/files/upload-recovery.service.js';
import { blockOf, fileRequest, md5Of, savePlan } from './helpers/step-files.js';
import { login, startTestApp, type TestApp } from './helpers/test-app.js';

const BLOCK = 4096;

describe('uploads: stale block md5, structured keys, races around completion', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp({ STEP_UPLOAD_TTL_SECONDS: '60' });
    conn = await app.connect();
    token = await login(conn, 'racer');
  });
  afterAll(async () => app.stop());
  afterEach(() => vi.restoreAllMocks());

  function upload(key: string, data: Buffer, index: number, fields: Record<string, unknown> = {}, as = token) {
    return conn.request(fileRequest(as, 'UPLOAD', { key, block_index: index, ...fields }), blockOf(data, index, BLOCK));
  }

  async function storedNames(): Promise<string[]> {
    return [...(await readdir(join(app.dataDir, 'files'))), ...(await readdir(join(app.dataDir, 'uploads')))];
  }

  it('forgets a block md5 when the block is sent again without one (item 6)', async () => {
    const first = randomBytes(2 * BLOCK);
    const second = randomBytes(BLOCK);
    await savePlan(conn, token, 'md5-stale', first.length, { block_size: BLOCK });
    expect((await upload('md5-stale', first, 0, { block_md5: md5Of(blockOf(first, 0, BLOCK)) })).json.status).toBe(200);
    expect((await conn.request(fileRequest(token, 'UPLOAD', { key: 'md5-stale', block_index: 0 }), second)).json.status).toBe(200);
    expect((await upload('md5-stale', first, 1)).json.status).toBe(200);
    const block = await conn.request(fileRequest(token, 'DOWNLOAD', { key: 'md5-stale', block_index: 0, block_size: BLOCK }));
    expect(block.binary?.equals(second)).toBe(true);
    if (block.json.block_md5 !== undefined) expect(block.json.block_md5).toBe(md5Of(second));
  });

  it('keeps user `a\\nb` with key `c` apart from user `a` with key `b\\nc` (item 11)', async () => {
    const tokenA = await login(conn, 'a');
    const tokenAB = await login(conn, 'a\nb');
    const forA = randomBytes(BLOCK + 10);
    const forAB = randomBytes(BLOCK + 20);
    await savePlan(conn, tokenA, 'b\nc', forA.length, { block_size: BLOCK });
    await savePlan(conn, tokenAB, 'c', forAB.length, { block_size: BLOCK });
    for (const [as, key, data] of [
      [tokenA, 'b\nc', forA],
      [tokenAB, 'c', forAB],
    ] as const) {
      expect((await upload(key, data, 0, {}, as)).json.status).toBe(200);
      expect((await upload(key, data, 1, {}, as)).json).toMatchObject({ status: 200, md5: md5Of(data) });
    }
  });

  it('logs user names escaped, so a name cannot forge a log line (item 11)', async () => {
    const logged = vi.spyOn(Logger.prototype, 'log');
    const forger = 'mallory\n[Uploads] upload finished: user=admin';
    const tokenM = await login(conn, forger);
    const data = randomBytes(BLOCK);
    await savePlan(conn, tokenM, 'forged', data.length, { block_size: BLOCK });
    expect((await upload('forged', data, 0, {}, tokenM)).json.status).toBe(200);
    const lines = logged.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('mallory'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('answers a DOWNLOAD that races a DELETE with 404, not 500 (item 11)', async () => {
    const data = randomBytes(BLOCK);
    await savePlan(conn, token, 'racing-delete', data.length, { block_size: BLOCK });
    expect((await upload('racing-delete', data, 0)).json.status).toBe(200);
    const storage = app.app.get(BlockStorage);
    const read = storage.readFileBlock.bind(storage);
    vi.spyOn(storage, 'readFileBlock').mockImplementationOnce(async (...args) => {
      expect(await app.app.get(FileCatalogService).deleteKey('racer', 'racing-delete')).toBe(true);
      return read(...args);
    });
    const reply = await conn.request(fileRequest(token, 'DOWNLOAD', { key: 'racing-delete', block_index: 0, block_size: BLOCK }));
    expect(reply.json).toMatchObject({ status: 404 });
  });

  /** Uploads a two-block file and starts `race` while its completion is in the final fsync. */
  async function raceFinalFsync<T>(key: string, race: () => Promise<T>) {
    const data = randomBytes(2 * BLOCK);
    await savePlan(conn, token, key, data.length, { block_size: BLOCK });
    expect((await upload(key, data, 0)).json.status).toBe(200);
    const name = (await app.app.get(UploadLedger).findStored('racer', key))!.storage_name;
    const storage = app.app.get(BlockStorage);
    const sync = storage.sync.bind(storage);
    let raced: Promise<T> | null = null;
    vi.spyOn(storage, 'sync').mockImplementationOnce(async (handle) => {
      raced = race();
      await sleep(50);
      return sync(handle);
    });
    const final = await upload(key, data, 1);
    expect(raced).not.toBeNull();
    return { data, name, final, raced: raced! as Promise<T> };
  }

  it('lets a DELETE during the final fsync wait for the completion, then delete the whole file (item 8)', async () => {
    const { data, name, final, raced } = await raceFinalFsync('delete-in-fsync', () =>
      app.app.get(FileCatalogService).deleteKey('racer', 'delete-in-fsync'),
    );
    expect(final.json).toMatchObject({ status: 200, md5: md5Of(data) });
    expect(await raced).toBe(true);
    expect((await conn.request(fileRequest(token, 'GET', { key: 'delete-in-fsync' }))).json.status).toBe(404);
    expect(await storedNames()).not.toContain(name);
  });

  it('lets a restarting SAVE during the final fsync wait, then refuses it as complete (item 8)', async () => {
    const other = await app.connect();
    const { data, final, raced } = await raceFinalFsync('save-in-fsync', () =>
      other.request(fileRequest(token, 'SAVE', { key: 'save-in-fsync', size: 10 })),
    );
    expect(final.json).toMatchObject({ status: 200, md5: md5Of(data) });
    expect((await raced).json.status).toBe(402);
    const plan = await conn.request(fileRequest(token, 'GET', { key: 'save-in-fsync' }));
    expect(plan.json).toMatchObject({ status: 200, md5: md5Of(data) });
  });

  it('does not expire an upload that was re-planned or became active after the idle scan (item 8)', async () => {
    const data = randomBytes(3 * BLOCK);
    await savePlan(conn, token, 'expire-replanned', data.length, { block_size: BLOCK });
    await savePlan(conn, token, 'expire-resumed', data.length, { block_size: BLOCK });
    const clock = app.app.get(Clock);
    vi.spyOn(clock, 'now').mockReturnValue(clock.now() + 120_000);
    const ledger = app.app.get(UploadLedger);
    const listIdleSince = ledger.listIdleSince.bind(ledger);
    let scanned: string[] = [];
    vi.spyOn(ledger, 'listIdleSince').mockImplementationOnce(async (cutoff) => {
      const stale = (await listIdleSince(cutoff)).filter((row) => row.key.startsWith('expire-'));
      scanned = stale.map((row) => row.key).sort();
      // Between the scan and the cancel: one key is planned anew, the other gets a block.
      await savePlan(conn, token, 'expire-replanned', data.length, { block_size: BLOCK });
      expect((await upload('expire-resumed', data, 0)).json.status).toBe(200);
      return stale;
    });
    await app.app.get(UploadRecoveryService).runExpiry();
    expect(scanned).toEqual(['expire-replanned', 'expire-resumed']);
    for (const key of ['expire-replanned', 'expire-resumed']) {
      expect((await conn.request(fileRequest(token, 'STATUS', { key }))).json.status, key).toBe(200);
    }
  });
});

describe('STATUS of a huge upload', () => {
  let app: TestApp;

  afterAll(async () => app.stop());

  it('costs the server a bounded amount of CPU per request, not a walk of every block', async () => {
    // 8 GiB in 512-byte blocks: 16.7 M blocks, the bitmap size of a 64 GiB upload in 4 KiB ones.
    app = await startTestApp({ STEP_MIN_BLOCK_SIZE: '512', STEP_MIN_FREE_BYTES: '0' });
    const conn = await app.connect();
    const token = await login(conn, 'huge');
    const size = 8 * 1024 ** 3;
    const plan = await savePlan(conn, token, 'huge', size, { block_size: 512 });
    expect(plan.total_block).toBe(16_777_216);
    const data = randomBytes(512);
    expect((await conn.request(fileRequest(token, 'UPLOAD', { key: 'huge', block_index: 1 }), data)).json.status).toBe(200);
    const before = process.cpuUsage();
    for (let i = 0; i < 10; i++) {
      const status = await conn.request(fileRequest(token, 'STATUS', { key: 'huge' }));
      expect(status.json).toMatchObject({
        status: 200,
        received_count: 1,
        missing_ranges: [
          [0, 0],
          [2, 16_777_215],
        ],
      });
    }
    const used = process.cpuUsage(before);
    // The server runs in this process: user + system CPU of 10 STATUS requests.
    expect((used.user + used.system) / 1e6).toBeLessThan(0.25);
  });
});
