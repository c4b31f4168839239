import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../src/common/clock.js';
import { DATABASE_FILE } from '../src/database/database.options.js';
import { SqliteWriter } from '../src/database/sqlite-writer.js';
import { BlockStorage } from '../src/files/block-storage.repository.js';
import { UploadLedger } from '../src/files/upload-ledger.repository.js';
import { UploadRecoveryService } from '../src/files/upload-recovery.service.js';
import { downloadAll, fileRequest, md5Of, savePlan, uploadBlocks } from './helpers/step-files.js';
import { login, startTestApp, type TestApp } from './helpers/test-app.js';

const BLOCK = 4096;
const DB_FILES = [DATABASE_FILE, `${DATABASE_FILE}-wal`];

/**
 * A model of the database after a power cut: SQLite in WAL mode with synchronous=NORMAL writes
 * commits to the WAL without syncing it, so what survives is the database and WAL as of the last
 * sync. The test copies both files at the last point it knows to be synced (a snapshot taken by
 * hand, or each time stepd's SqliteWriter.durable() resolves) and puts that copy back after the
 * app stopped: every WAL frame written after that sync is dropped. Data files are kept as they
 * are (stepd fsyncs a file and its directory before it relies on them).
 */
class PowerCut {
  private readonly snapshot: string;

  constructor(private readonly dataDir: string) {
    this.snapshot = join(dataDir, 'synced-copy');
  }

  /** Records the database as it is now as the last synced state. */
  async synced(): Promise<void> {
    await rm(this.snapshot, { recursive: true, force: true });
    await mkdtemp(this.snapshot).then((dir) => rename(dir, this.snapshot));
    for (const name of DB_FILES) await copyFile(join(this.dataDir, name), join(this.snapshot, name)).catch(() => undefined);
  }

  /** Tracks every sync stepd makes from now on. */
  follow(app: TestApp): void {
    const sqlite = app.app.get(SqliteWriter);
    const durable = sqlite.durable.bind(sqlite);
    vi.spyOn(sqlite, 'durable').mockImplementation(async () => {
      await durable();
      await this.synced();
    });
  }

  /** After the app stopped: the database loses what was not synced. */
  async cut(): Promise<void> {
    for (const name of [...DB_FILES, `${DATABASE_FILE}-shm`]) await rm(join(this.dataDir, name), { force: true });
    for (const name of DB_FILES) await copyFile(join(this.snapshot, name), join(this.dataDir, name)).catch(() => undefined);
    await rm(this.snapshot, { recursive: true, force: true });
  }
}

describe('power loss after the final MD5 reply', () => {
  const dirs: string[] = [];
  let app: TestApp | null = null;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.stop();
    app = null;
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Uploads `data` under `key`, then cuts the power. The last sync is taken before the SAVE or
   * before the last block, and then at each sync stepd makes unless `stepdSyncs` is false (a cut
   * after the rename but before the completion's own sync: the reply was not sent yet).
   */
  async function uploadThenCut(
    key: string,
    data: Buffer,
    syncedAt: 'before-save' | 'before-last-block',
    stepdSyncs = true,
  ): Promise<string> {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepd-power-'));
    dirs.push(dataDir);
    const power = new PowerCut(dataDir);
    app = await startTestApp({ STEP_DATA_DIR: dataDir });
    const conn = await app.connect();
    const token = await login(conn, 'volt');
    if (syncedAt === 'before-save') await power.synced();
    const plan = await savePlan(conn, token, key, data.length, { block_size: BLOCK });
    const all = Array.from({ length: plan.total_block }, (_, i) => i);
    await uploadBlocks([conn], token, key, data, BLOCK, all.slice(0, -1));
    if (syncedAt === 'before-last-block') await power.synced();
    if (stepdSyncs) power.follow(app);
    const [final] = await uploadBlocks([conn], token, key, data, BLOCK, all.slice(-1));
    // Once the client is told the file is complete, it must survive.
    expect(final.json).toMatchObject({ status: 200, md5: md5Of(data) });
    await app.stop();
    app = null;
    await power.cut();
    return dataDir;
  }

  async function expectIntact(dataDir: string, key: string, data: Buffer): Promise<void> {
    app = await startTestApp({ STEP_DATA_DIR: dataDir });
    // The sweep runs late enough that no file is young any more.
    const clock = app.app.get(Clock);
    vi.spyOn(clock, 'now').mockReturnValue(clock.now() + 3600_000);
    await app.app.get(UploadRecoveryService).runExpiry();
    const conn = await app.connect();
    const token = await login(conn, 'volt');
    const download = await downloadAll(conn, token, key);
    expect(download.plan).toMatchObject({ status: 200, md5: md5Of(data) });
    expect(download.data.equals(data)).toBe(true);
  }

  it('keeps a completed upload whose every database commit since SAVE was lost', async () => {
    const data = randomBytes(3 * BLOCK + 100);
    const dataDir = await uploadThenCut('lost-since-save', data, 'before-save');
    await expectIntact(dataDir, 'lost-since-save', data);
  });

  it('finishes an upload whose row went back to `uploading` while its file was already renamed', async () => {
    const data = randomBytes(3 * BLOCK + 200);
    const dataDir = await uploadThenCut('reverted-row', data, 'before-last-block', false);
    await expectIntact(dataDir, 'reverted-row', data);
  });
});

describe('orphan sweep', () => {
  let app: TestApp;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app.stop();
  });

  it('never deletes a file a row references, whatever the row state says', async () => {
    app = await startTestApp();
    const conn = await app.connect();
    const token = await login(conn, 'volt');
    await savePlan(conn, token, 'referenced', 2 * BLOCK, { block_size: BLOCK });
    const name = (await app.app.get(UploadLedger).findStored('volt', 'referenced'))!.storage_name;
    // The file sits in files/ while its row still says `uploading` (a lost commit).
    await rename(join(app.dataDir, 'uploads', `${name}.part`), join(app.dataDir, 'files', name));
    const clock = app.app.get(Clock);
    vi.spyOn(clock, 'now').mockReturnValue(clock.now() + 120_000);
    await app.app.get(UploadRecoveryService).runExpiry();
    expect(await readdir(join(app.dataDir, 'files'))).toContain(name);
  });

  it('does not rely on mtime alone: a partial file whose row is being written is kept', async () => {
    app = await startTestApp();
    const conn = await app.connect();
    const token = await login(conn, 'volt');
    const ledger = app.app.get(UploadLedger);
    const insert = ledger.insert.bind(ledger);
    const clock = app.app.get(Clock);
    vi.spyOn(ledger, 'insert').mockImplementationOnce(async (row) => {
      // The sweep runs between the file and its row, with a clock that makes the file look old.
      vi.spyOn(clock, 'now').mockReturnValue(Date.now() + 120_000);
      await app.app.get(UploadRecoveryService).runExpiry();
      vi.mocked(clock.now).mockRestore();
      expect(app.app.get(BlockStorage).isUnsettled(row.storageName)).toBe(true);
      return insert(row);
    });
    const data = randomBytes(BLOCK);
    await savePlan(conn, token, 'young', data.length, { block_size: BLOCK });
    const [reply] = await uploadBlocks([conn], token, 'young', data, BLOCK, [0]);
    expect(reply.json).toMatchObject({ status: 200, md5: md5Of(data) });
    expect((await conn.request(fileRequest(token, 'GET', { key: 'young' }))).json.status).toBe(200);
  });
});
