import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScratchDatabase } from '../../test/helpers/scratch-database.js';
import {
  closeSharedInstances,
  createSharedInstances,
  createUploadServices,
  type UploadServices,
} from '../../test/helpers/upload-services.js';
import { LocalClusterLocks } from '../cluster/cluster-locks.js';
import { md5Hex } from '../common/md5.js';
import { completelyUploadedMessage, StepStatus } from '../protocol/index.js';

const BLOCK = 4096;

/** The STEP status a promise is rejected with (OK when it resolves). */
async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => StepStatus.OK,
    (err: { status?: number }) => err.status,
  );
}

/**
 * Two instances in one process: two sets of upload services on one PostgreSQL database and one
 * data dir, sharing one lock table (as ClusterLocks does across processes), with their own memory.
 */
describe('two instances on one PostgreSQL database and one data dir (docs/scale-out.md)', () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let a: UploadServices;
  let b: UploadServices;
  beforeEach(async () => {
    ({ database, dataDir, a, b } = await createSharedInstances('stepd-shared-'));
  });
  afterEach(() => closeSharedInstances({ database, dataDir, a, b }));

  it('completes a file whose blocks alternate between them once, with the right MD5, from whichever gets the last block', async () => {
    const content = randomBytes(40 * BLOCK + 123);
    const plan = await a.plan('alice', 'f', content, BLOCK);
    const total = plan.total_block as number;
    const replies = [];
    for (let index = 0; index < total; index++) replies.push(await (index % 2 === 0 ? a : b).send('alice', 'f', content, BLOCK, index));
    // Block 40 (the last) went to `a`, which itself received only the even blocks.
    expect(replies.slice(0, -1).every((reply) => reply.fields.md5 === undefined)).toBe(true);
    expect(replies.at(-1)!.fields.md5).toBe(md5Hex(content));
    expect(a.counters.completed + b.counters.completed).toBe(1);
    const row = (await b.ledger.find('alice', 'f'))!;
    expect(row).toMatchObject({ state: 'complete', md5: md5Hex(content) });
    expect(await b.storage.hashFile(row.storageName, content.length, true)).toBe(md5Hex(content));
    // The other instance forgets its copy once it learns of the completion.
    await expect(b.send('alice', 'f', content, BLOCK, 1)).rejects.toThrow(completelyUploadedMessage('f'));
    expect(b.registry.get('alice', 'f')).toBeUndefined();
  });

  /** Makes every merge of the other instance's receipts due (they are at most once a second). */
  function mergeOnEveryBlock(): void {
    let now = Date.now();
    for (const instance of [a, b]) vi.spyOn(instance.clock, 'now').mockImplementation(() => (now += 1100));
  }

  /** Waits until one instance owns the prefix MD5 of `key` and the other stopped hashing; resolves to [owner, other]. */
  async function settledOwner(key: string): Promise<[UploadServices, UploadServices]> {
    const id = a.registry.get('alice', key)!.id;
    return vi.waitFor(async () => {
      const owner = (await a.hashing.find(id))?.owner;
      const [mine, other] = owner === a.instances.self ? [a, b] : [b, a];
      expect(owner).toBe(mine.instances.self);
      expect(other.registry.get('alice', key)!.hasher.isTainted).toBe(true);
      expect(mine.registry.get('alice', key)!.hasher.isTainted).toBe(false);
      return [mine, other];
    });
  }

  it('hashes an upload whose blocks alternate between them on one instance, which hands its MD5 to the one completing it', async () => {
    mergeOnEveryBlock();
    const content = randomBytes(40 * BLOCK + 123);
    await a.plan('alice', 'h', content, BLOCK);
    for (let index = 0; index < 40; index++) await (index % 2 === 0 ? a : b).send('alice', 'h', content, BLOCK, index);
    const id = a.registry.get('alice', 'h')!.id;
    const [owner, other] = await settledOwner('h');
    const fileHashes = vi.spyOn(other.storage, 'hashFile');
    const reply = await other.send('alice', 'h', content, BLOCK, 40);
    expect(reply.fields.md5).toBe(md5Hex(content));
    expect(fileHashes).not.toHaveBeenCalled();
    expect(other.counters.completed).toBe(1);
    expect(owner.counters.completed).toBe(0);
    expect(await a.ledger.find('alice', 'h')).toMatchObject({ state: 'complete', md5: md5Hex(content) });
    expect(await a.hashing.find(id)).toBeUndefined();
  });

  it('hashes the file when the instance owning the prefix MD5 is gone', async () => {
    mergeOnEveryBlock();
    const content = randomBytes(12 * BLOCK);
    await a.plan('alice', 'gone', content, BLOCK);
    for (let index = 0; index < 11; index++) await (index % 2 === 0 ? a : b).send('alice', 'gone', content, BLOCK, index);
    const [owner, other] = await settledOwner('gone');
    await owner.close();
    const fileHashes = vi.spyOn(other.storage, 'hashFile');
    expect((await other.send('alice', 'gone', content, BLOCK, 11)).fields.md5).toBe(md5Hex(content));
    expect(fileHashes).toHaveBeenCalledOnce();
    // afterEach closes both.
    const fresh = await createUploadServices({ STEP_DATABASE_URL: database.url }, { dataDir, locks: new LocalClusterLocks() });
    if (owner === a) a = fresh;
    else b = fresh;
  });

  it('trusts no prefix MD5 once a block was written twice, on whichever instance', async () => {
    mergeOnEveryBlock();
    const content = randomBytes(8 * BLOCK);
    await a.plan('alice', 'twice', content, BLOCK);
    for (let index = 0; index < 4; index++) await a.send('alice', 'twice', content, BLOCK, index);
    // b learns of a's blocks with its first one, then receives block 1 again, with other bytes.
    await b.send('alice', 'twice', content, BLOCK, 4);
    await vi.waitFor(() => expect(b.registry.get('alice', 'twice')!.bitmap.has(1)).toBe(true));
    const other = randomBytes(BLOCK);
    await b.receiver.receiveBlock('alice', { key: 'twice', block_index: 1 }, other);
    other.copy(content, BLOCK);
    // a hashed the first bytes of block 1 in its prefix: that digest would not be the file's.
    for (let index = 5; index < 8; index++) await a.send('alice', 'twice', content, BLOCK, index);
    expect((await a.ledger.find('alice', 'twice'))!.md5).toBe(md5Hex(content));
    const row = (await a.ledger.find('alice', 'twice'))!;
    expect(await a.storage.hashFile(row.storageName, content.length, true)).toBe(md5Hex(content));
  });

  it('records the union when both send blocks of one upload at once, and completes it exactly once', async () => {
    const content = randomBytes(64 * BLOCK);
    await a.plan('alice', 'both', content, BLOCK);
    const replies = await Promise.all(
      Array.from({ length: 64 }, (_, index) => (index % 3 === 0 ? b : a).send('alice', 'both', content, BLOCK, 63 - index)),
    );
    const md5s = replies.map((reply) => reply.fields.md5).filter((md5) => md5 !== undefined);
    expect(md5s.length).toBeGreaterThan(0);
    expect(new Set(md5s)).toEqual(new Set([md5Hex(content)]));
    expect(a.counters.completed + b.counters.completed).toBe(1);
    expect(await a.ledger.find('alice', 'both')).toMatchObject({ state: 'complete', md5: md5Hex(content) });
  });

  it('STATUS on one instance counts the blocks the other received', async () => {
    const content = randomBytes(6 * BLOCK);
    await a.plan('alice', 's', content, BLOCK);
    await a.send('alice', 's', content, BLOCK, 0);
    await b.send('alice', 's', content, BLOCK, 4);
    await b.send('alice', 's', content, BLOCK, 5);
    const status = (await a.receiver.status('alice', { key: 's' })).fields;
    expect(status).toMatchObject({ received_count: 3, missing_ranges: [[1, 3]], complete: false });
    expect((await b.receiver.status('alice', { key: 's' })).fields).toMatchObject({ received_count: 3 });
  });

  it('refuses a block for an upload the other instance cancelled, and one for a key it restarted', async () => {
    const content = randomBytes(4 * BLOCK);
    await a.plan('alice', 'c', content, BLOCK);
    await b.send('alice', 'c', content, BLOCK, 0);
    expect(await a.receiver.cancel('alice', 'c')).toBe(true);
    expect(await statusOf(b.send('alice', 'c', content, BLOCK, 1))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    expect(b.registry.get('alice', 'c')).toBeUndefined();

    await a.plan('alice', 'r', content, BLOCK);
    await b.send('alice', 'r', content, BLOCK, 0);
    // A SAVE of the same key on `a` restarts the upload from zero (docs/protocol.md §6).
    await a.plan('alice', 'r', content, BLOCK);
    expect(await statusOf(b.send('alice', 'r', content, BLOCK, 1))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    // The client's retry reaches the new upload, whose only block is this one.
    await b.send('alice', 'r', content, BLOCK, 1);
    expect((await a.receiver.status('alice', { key: 'r' })).fields).toMatchObject({
      received_count: 1,
      missing_ranges: [
        [0, 0],
        [2, 3],
      ],
    });
  });

  it('takes a block of a plan the other instance granted with another block size when it restarted the key', async () => {
    const content = randomBytes(8 * BLOCK);
    await a.plan('alice', 'g', content, BLOCK);
    await b.send('alice', 'g', content, BLOCK, 0);
    // The step CLI re-plans with larger blocks once it has measured the link (a SAVE on `a`).
    await a.plan('alice', 'g', content, 2 * BLOCK);
    expect((await b.receiver.status('alice', { key: 'g' })).fields).toMatchObject({ block_size: 2 * BLOCK, received_count: 0 });
    await b.send('alice', 'g', content, 2 * BLOCK, 1);
    expect((await a.receiver.status('alice', { key: 'g' })).fields).toMatchObject({
      block_size: 2 * BLOCK,
      received_count: 1,
      missing_ranges: [
        [0, 0],
        [2, 3],
      ],
    });
    expect(b.registry.get('alice', 'g')!.row.blockSize).toBe(2 * BLOCK);
  });

  it('expires an idle upload only when the instance serving it is no longer live, and takes it over on its next block', async () => {
    const content = randomBytes(4 * BLOCK);
    await a.plan('alice', 'idle', content, BLOCK);
    const servedBy = (await a.ledger.find('alice', 'idle'))!.servedBy;
    expect(servedBy).toBe(a.instances.self);
    // Past STEP_UPLOAD_TTL_SECONDS (7 days) on `b`, while `a` is still live: the upload is a's to keep or expire.
    const later = a.clock.now() + 8 * 86_400_000;
    vi.spyOn(b.clock, 'now').mockReturnValue(later);
    const live = vi.spyOn(b.instances, 'liveInstances').mockResolvedValue(new Set([a.instances.self, b.instances.self]));
    await b.recovery.runExpiry();
    expect(await b.ledger.find('alice', 'idle')).not.toBeNull();
    // The client's next block reaches `b`, which takes the upload over.
    vi.mocked(b.clock.now).mockRestore();
    await b.send('alice', 'idle', content, BLOCK, 0);
    expect((await b.ledger.find('alice', 'idle'))!.servedBy).toBe(b.instances.self);
    // `a` died and the upload then sat idle: now b's expiry drops it.
    live.mockResolvedValue(new Set([b.instances.self]));
    await b.registry.evict(b.registry.get('alice', 'idle')!);
    await a.registry.evict(a.registry.get('alice', 'idle')!);
    vi.spyOn(b.clock, 'now').mockReturnValue(later);
    await b.recovery.runExpiry();
    expect(await b.ledger.find('alice', 'idle')).toBeNull();
  });
});
