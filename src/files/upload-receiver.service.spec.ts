import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUploadServicesOn, SPEC_ENGINES, type UploadServices } from '../../test/helpers/upload-services.js';
import { md5Hex } from '../common/md5.js';
import { StepStatus } from '../protocol/index.js';

const BLOCK = 4096;
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

/** The STEP status a promise is rejected with (its StepError's). */
async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => StepStatus.OK,
    (err: { status?: number }) => err.status,
  );
}

describe.each(SPEC_ENGINES)('%s: UploadReceiverService (docs/protocol.md §6)', (engine) => {
  let s: UploadServices;
  beforeEach(async () => {
    s = await createUploadServicesOn(engine, { STEP_MAX_FILE_BYTES: '1048576' });
  });
  afterEach(() => s.close());

  it('grants a plan: 20480-byte blocks unless asked, total_block = ceil(size / block_size), a UUID key when none', async () => {
    const reply = await s.receiver.plan('alice', { size: 50_000 });
    expect(reply.fields).toMatchObject({ size: 50_000, block_size: 20480, total_block: 3 });
    expect(reply.fields.key).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.receiver.plan('alice', { key: 'k', size: 10_000, block_size: BLOCK })).fields).toMatchObject({
      key: 'k',
      block_size: BLOCK,
      total_block: 3,
    });
  });

  it('refuses a plan without size (402), with a negative size (400) or over STEP_MAX_FILE_BYTES (413)', async () => {
    expect(await statusOf(s.receiver.plan('alice', { key: 'a' }))).toBe(StepStatus.KEY_EXISTS);
    expect(await statusOf(s.receiver.plan('alice', { key: 'a', size: -1 }))).toBe(StepStatus.COMPULSORY_FIELD_MISSING);
    expect(await statusOf(s.receiver.plan('alice', { key: 'a', size: 1048577 }))).toBe(StepStatus.TOO_LARGE);
  });

  it('completes an empty file in the plan itself, with the MD5 of nothing', async () => {
    const reply = await s.receiver.plan('alice', { key: 'empty', size: 0 });
    expect(reply.fields).toMatchObject({ total_block: 0, md5: EMPTY_MD5 });
    expect(await statusOf(s.receiver.plan('alice', { key: 'empty', size: 1 }))).toBe(StepStatus.KEY_EXISTS);
  });

  it('takes blocks in any order and answers the completing one with the MD5 of the whole file', async () => {
    const content = randomBytes(3 * BLOCK + 100);
    await s.plan('alice', 'f', content, BLOCK);
    for (const index of [2, 0, 3]) {
      const reply = await s.send('alice', 'f', content, BLOCK, index);
      expect(reply.message).toBe(`The block ${index} is uploaded.`);
      expect(reply.fields.md5).toBeUndefined();
    }
    expect((await s.send('alice', 'f', content, BLOCK, 1)).fields).toMatchObject({ block_index: 1, md5: md5Hex(content) });
    expect((await s.receiver.status('alice', { key: 'f' })).fields).toMatchObject({ complete: true, md5: md5Hex(content) });
    expect(await statusOf(s.send('alice', 'f', content, BLOCK, 0))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
  });

  it('gives the MD5 of the bytes stored last when a block is sent twice with other content', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'twice', content, BLOCK);
    await s.send('alice', 'twice', randomBytes(2 * BLOCK), BLOCK, 0);
    await s.send('alice', 'twice', content, BLOCK, 0);
    expect((await s.send('alice', 'twice', content, BLOCK, 1)).fields.md5).toBe(md5Hex(content));
  });

  it('hashes a block for the prefix MD5 once its receipt is committed, after the replies of that commit', async () => {
    const content = randomBytes(3 * BLOCK);
    await s.plan('alice', 'later', content, BLOCK);
    await s.send('alice', 'later', content, BLOCK, 0);
    const hasher = s.registry.get('alice', 'later')!.hasher;
    const record = vi.spyOn(s.progress, 'record');
    const hashSoon = vi.spyOn(hasher, 'hashAfterReplies');
    await s.send('alice', 'later', content, BLOCK, 1);
    expect(hashSoon).toHaveBeenCalledTimes(1);
    expect(hashSoon.mock.invocationCallOrder[0]).toBeGreaterThan(record.mock.invocationCallOrder[0]);
    expect((await s.send('alice', 'later', content, BLOCK, 2)).fields.md5).toBe(md5Hex(content));
  });

  it('checks an UPLOAD in the order docs/protocol.md §6 lists', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'u', content, BLOCK);
    const block = content.subarray(0, BLOCK);
    const upload = (fields: Record<string, unknown>, binary: Buffer | null = block) =>
      statusOf(s.receiver.receiveBlock('alice', fields, binary));
    expect(await upload({ block_index: 0 })).toBe(StepStatus.FIELD_MISSING);
    expect(await upload({ key: 'nobody-planned-this', block_index: 0 })).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    expect(await upload({ key: 'u' })).toBe(StepStatus.FIELD_MISSING);
    expect(await upload({ key: 'u', block_index: 2 })).toBe(StepStatus.BLOCK_INDEX_TOO_HIGH);
    expect(await upload({ key: 'u', block_index: -1 })).toBe(StepStatus.FIELD_MISSING);
    expect(await upload({ key: 'u', block_index: 0 }, block.subarray(1))).toBe(StepStatus.BLOCK_SIZE_WRONG);
    expect(await upload({ key: 'u', block_index: 0 }, null)).toBe(StepStatus.BLOCK_SIZE_WRONG);
    expect(await upload({ key: 'u', block_index: 0, block_md5: md5Hex(Buffer.from('other')) })).toBe(StepStatus.BLOCK_SIZE_WRONG);
    // Another user's key is not this user's upload.
    expect(await statusOf(s.receiver.receiveBlock('bob', { key: 'u', block_index: 0 }, block))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    expect(await upload({ key: 'u', block_index: 0 })).toBe(StepStatus.OK);
  });

  it('reports received blocks and missing ranges in STATUS, and 404 for a key without upload', async () => {
    const content = randomBytes(6 * BLOCK);
    await s.plan('alice', 'st', content, BLOCK);
    for (const index of [0, 3]) await s.send('alice', 'st', content, BLOCK, index);
    expect((await s.receiver.status('alice', { key: 'st' })).fields).toMatchObject({
      received_count: 2,
      missing_ranges: [
        [1, 2],
        [4, 5],
      ],
      missing_ranges_truncated: false,
      complete: false,
    });
    expect(await statusOf(s.receiver.status('alice', { key: 'none' }))).toBe(StepStatus.KEY_NOT_FOUND);
  });

  it('restarts an unfinished upload from zero when its key is planned again', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'again', content, BLOCK);
    await s.send('alice', 'again', content, BLOCK, 0);
    await s.plan('alice', 'again', content, BLOCK);
    expect((await s.receiver.status('alice', { key: 'again' })).fields).toMatchObject({ received_count: 0 });
    expect(s.registry.size).toBe(1);
  });

  it('cancels an unfinished upload: its blocks are refused (408) and a second cancel finds nothing', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'c', content, BLOCK);
    await s.send('alice', 'c', content, BLOCK, 0);
    expect(await s.receiver.cancel('alice', 'c')).toBe(true);
    expect(s.registry.size).toBe(0);
    expect(await statusOf(s.send('alice', 'c', content, BLOCK, 1))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    expect(await s.receiver.cancel('alice', 'c')).toBe(false);
    expect(await statusOf(s.receiver.status('alice', { key: 'c' }))).toBe(StepStatus.KEY_NOT_FOUND);
  });

  it('expires an upload idle since before the cutoff, but not one active since', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'idle', content, BLOCK);
    const row = (await s.ledger.find('alice', 'idle'))!;
    expect(await s.receiver.expireIfIdle(row, row.updatedAt)).toBe(false);
    expect(await s.receiver.expireIfIdle(row, row.updatedAt + 1)).toBe(true);
    expect(await s.ledger.find('alice', 'idle')).toBeNull();
  });

  it('loads an upload no longer in memory from the database, and drops one whose partial file is gone', async () => {
    const content = randomBytes(3 * BLOCK);
    for (const key of ['kept', 'lost']) {
      await s.plan('alice', key, content, BLOCK);
      await s.send('alice', key, content, BLOCK, 0);
      // As after a restart: nothing in memory.
      await s.registry.evict(s.registry.get('alice', key)!);
    }
    await s.storage.removePartial((await s.ledger.find('alice', 'lost'))!.storageName);
    expect((await s.receiver.status('alice', { key: 'kept' })).fields).toMatchObject({ received_count: 1 });
    expect(await statusOf(s.send('alice', 'lost', content, BLOCK, 1))).toBe(StepStatus.OPERATION_NOT_ALLOWED);
    expect(await s.ledger.find('alice', 'lost')).toBeNull();
    await s.send('alice', 'kept', content, BLOCK, 1);
    expect((await s.send('alice', 'kept', content, BLOCK, 2)).fields.md5).toBe(md5Hex(content));
  });

  it('limits unfinished uploads per user (429)', async () => {
    const limited = await createUploadServicesOn(engine, { STEP_MAX_UPLOADS_PER_USER: '1' });
    try {
      await limited.receiver.plan('alice', { key: 'one', size: 10 });
      expect(await statusOf(limited.receiver.plan('alice', { key: 'two', size: 10 }))).toBe(StepStatus.TOO_MANY);
      expect(await statusOf(limited.receiver.plan('bob', { key: 'two', size: 10 }))).toBe(StepStatus.OK);
    } finally {
      await limited.close();
    }
  });
});
