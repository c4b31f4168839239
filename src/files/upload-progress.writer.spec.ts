import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUploadServices, type UploadServices } from '../../test/helpers/upload-services.js';
import type { ActiveUpload } from './active-upload.js';
import { SqliteSqlRunner } from '../database/sqlite-sql-runner.js';
import { UploadReceipts } from './upload-receipts.repository.js';

const BLOCK = 4096;

describe('UploadProgressWriter', () => {
  let s: UploadServices;
  beforeEach(async () => {
    s = await createUploadServices();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await s.close();
  });

  /** Plans an upload of `blocks` blocks and returns it as held in memory. */
  async function planned(key: string, blocks: number): Promise<ActiveUpload> {
    await s.plan('alice', key, randomBytes(blocks * BLOCK), BLOCK);
    return s.registry.get('alice', key)!;
  }

  /** Blocks recorded in the database for `key` (the stored bitmap). */
  async function stored(key: string): Promise<number> {
    return (await s.ledger.loadBitmap((await s.ledger.find('alice', key))!)).count;
  }

  it('commits every receipt of one event-loop turn in one transaction, all callers waiting on that commit', async () => {
    const a = await planned('a', 4);
    const b = await planned('b', 4);
    const transaction = vi.spyOn(s.sqlite, 'transaction');
    const commit = vi.spyOn(UploadReceipts.prototype, 'commit');
    const receipts = [0, 1, 2].map((index) => {
      const upload = index === 1 ? b : a;
      upload.bitmap.set(index);
      return s.progress.record(upload);
    });
    expect(receipts[1]).toBe(receipts[0]);
    expect(receipts[2]).toBe(receipts[0]);
    // Nothing is committed before the turn ends: the receipts of the turn go together.
    expect(commit).not.toHaveBeenCalled();
    await Promise.all(receipts);
    expect(commit).toHaveBeenCalledTimes(1);
    expect(transaction).toHaveBeenCalledTimes(1);
    expect([await stored('a'), await stored('b')]).toEqual([2, 1]);

    b.bitmap.set(3);
    const next = s.progress.record(b);
    expect(next).not.toBe(receipts[0]);
    await next;
    expect(commit).toHaveBeenCalledTimes(2);
    // One chunk row, counters not due yet: one statement, committed without BEGIN/COMMIT around it.
    expect(transaction).toHaveBeenCalledTimes(1);
    expect(await stored('b')).toBe(2);
  });

  it('rejects every receipt of a failed commit, and writes their blocks with the next one', async () => {
    const a = await planned('a', 4);
    const b = await planned('b', 4);
    vi.spyOn(s.sqlite, 'transaction').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    a.bitmap.set(0);
    b.bitmap.set(1);
    const failed = [s.progress.record(a), s.progress.record(b)];
    for (const receipt of failed) await expect(receipt).rejects.toThrow('disk I/O error');
    expect([await stored('a'), await stored('b')]).toEqual([0, 0]);

    a.bitmap.set(2);
    await s.progress.record(a);
    expect(await stored('a')).toBe(2);
    await s.progress.record(b);
    expect(await stored('b')).toBe(1);
  });

  it('flushNow commits the pending receipts at once and settles their promise', async () => {
    const a = await planned('a', 4);
    a.bitmap.set(0);
    const receipt = s.progress.record(a);
    await s.progress.flushNow();
    expect(await stored('a')).toBe(1);
    await receipt;
  });

  it('writes nothing for an upload cancelled before its receipt was committed', async () => {
    const a = await planned('a', 4);
    a.bitmap.set(0);
    const receipt = s.progress.record(a);
    expect(await s.receiver.cancel('alice', 'a')).toBe(true);
    await receipt;
    const rows = s.sqlite.statement(`SELECT COUNT(*) AS n FROM upload_blocks WHERE upload_id = ?`).get(a.id) as { n: number };
    expect(rows.n).toBe(0);
  });

  it('rewrites a stored chunk row with one UPDATE, and inserts a new chunk or skips a cancelled upload through the guarded upsert', async () => {
    const a = await planned('a', 4);
    const run = vi.spyOn(SqliteSqlRunner.prototype, 'run');
    const batch = vi.spyOn(SqliteSqlRunner.prototype, 'batch');
    const updates = () => run.mock.calls.filter(([sql]) => sql.startsWith('UPDATE upload_blocks'));

    a.bitmap.set(0);
    await s.progress.record(a);
    // The chunk's first block (and the counters, due at once): no row to update yet.
    expect([updates().length, batch.mock.calls.length]).toEqual([0, 1]);
    a.bitmap.set(1);
    await s.progress.record(a);
    expect([updates().length, batch.mock.calls.length]).toEqual([1, 1]);
    expect(await run.mock.results.at(-1)!.value).toBe(1);
    expect(await stored('a')).toBe(2);

    expect(await s.receiver.cancel('alice', 'a')).toBe(true);
    a.bitmap.set(2);
    await s.progress.record(a).catch(() => undefined);
    const rows = s.sqlite.statement(`SELECT COUNT(*) AS n FROM upload_blocks WHERE upload_id = ?`).get(a.id) as { n: number };
    expect(rows.n).toBe(0);
  });

  it('while a commit is in flight, the next receipts accumulate and follow it in one commit (group commit)', async () => {
    const a = await planned('a', 4);
    const b = await planned('b', 4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const commit = UploadReceipts.prototype.commit;
    const spy = vi.spyOn(UploadReceipts.prototype, 'commit').mockImplementation(async function (this: UploadReceipts, entries, now) {
      if (spy.mock.calls.length === 1) await gate;
      return commit.call(this, entries, now);
    });
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    a.bitmap.set(0);
    const first = s.progress.record(a);
    await tick();
    expect(spy).toHaveBeenCalledTimes(1);
    a.bitmap.set(1);
    const second = s.progress.record(a);
    b.bitmap.set(2);
    expect(s.progress.record(b)).toBe(second);
    await tick();
    await tick();
    // Nothing new is sent while the first commit is in flight.
    expect(spy).toHaveBeenCalledTimes(1);
    release();
    await Promise.all([first, second]);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(spy.mock.calls[1][0].map((entry) => entry.uploadId)).toEqual([a.id, b.id]);
    expect([await stored('a'), await stored('b')]).toEqual([2, 1]);
  });
});
