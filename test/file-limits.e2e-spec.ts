import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { BlockStorage } from '../src/files/block-storage.repository.js';
import { blockOf, downloadAll, fileRequest, md5Of, savePlan } from './helpers/step-files.js';
import { login, request, startTestApp, statusOf, type TestApp } from './helpers/test-app.js';

const BLOCK = 4096;

/** Storage errors as the file system raises them. */
function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

describe('file-level limits and wrong types', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp({
      STEP_MAX_FILE_BYTES: '100000',
      STEP_USER_QUOTA_BYTES: '150000',
      STEP_MAX_UPLOADS_PER_USER: '2',
      STEP_MIN_BLOCK_SIZE: String(BLOCK),
    });
    conn = await app.connect();
    token = await login(conn, 'limits');
  });
  afterAll(async () => app.stop());

  const save = (fields: Record<string, unknown>, user = token) => conn.request(fileRequest(user, 'SAVE', fields));

  it.each([
    ['a string', '100', 400],
    ['a float', 10.5, 400],
    ['negative', -1, 400],
    ['huge', 2 ** 53, 413],
    ['1e308', 1e308, 413],
    ['an object', { n: 1 }, 400],
    // Zero is a valid size: an empty file, complete at SAVE (C7, test/files.e2e-spec.ts).
  ])('answers SAVE with a size that is %s with %i', async (_, size, status) => {
    const reply = await save({ key: 'typed', size });
    expect(statusOf(reply)).toBe(status);
    expect(reply.json.status_msg).toMatch(/size/);
  });

  it('answers SAVE with a block_size of the wrong type with 400', async () => {
    expect(statusOf(await save({ key: 'typed', size: 10, block_size: '4096' }))).toBe(400);
    expect(statusOf(await save({ key: 'typed', size: 10, block_size: 4096.5 }))).toBe(400);
  });

  it('accepts STEP_MAX_FILE_BYTES and refuses one byte more with 413', async () => {
    const over = await save({ key: 'over', size: 100_001 });
    expect(over.json).toMatchObject({ status: 413, status_msg: 'The file "size" 100001 is over the limit of 100000 bytes.' });
    expect(statusOf(await save({ key: 'at-limit', size: 100_000 }))).toBe(200);
    expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key: 'at-limit' })))).toBe(200);
  });

  it('answers UPLOAD with a block_index that is a string, a float, negative or huge with 400/400/410/405', async () => {
    await savePlan(conn, token, 'index-types', 10_000, { block_size: BLOCK });
    const upload = (block_index: unknown) =>
      conn.request(fileRequest(token, 'UPLOAD', { key: 'index-types', block_index }), Buffer.alloc(BLOCK));
    const replies = await Promise.all(['0', 1.5, -1, 2 ** 53, 1e308, [0]].map(upload));
    expect(replies.map(statusOf)).toEqual([400, 400, 410, 405, 405, 400]);
    expect(replies[0].json.status_msg).toBe('Field "block_index" has to be an integer.');
    expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key: 'index-types' })))).toBe(200);
  });

  it('answers an UPLOAD without a binary section with 406, and binary sections on other requests with 400', async () => {
    await savePlan(conn, token, 'no-binary', 100, { block_size: BLOCK });
    const missing = await conn.request(fileRequest(token, 'UPLOAD', { key: 'no-binary', block_index: 0 }));
    expect(missing.json).toMatchObject({ status: 406, status_msg: 'The "block_size" is wrong.' });
    // A stray binary section is refused from the JSON alone, and that connection closed.
    for (const [type, operation] of [
      ['FILE', 'SAVE'],
      ['FILE', 'STATUS'],
      ['FILE', 'GET'],
      ['DATA', 'SAVE'],
      ['DATA', 'GET'],
    ]) {
      const stray = await app.connect();
      const reply = await stray.request(request({ type, operation, token, key: 'no-binary', size: 100 }), Buffer.from('stray bytes'));
      expect(reply.json, `${type} ${operation}`).toMatchObject({ status: 400, status_msg: 'This request takes no binary section.' });
      await expect(stray.request(request({ direction: 'EARTH' }))).rejects.toThrow(/closed/);
    }
    expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key: 'no-binary' })))).toBe(200);
  });

  it('answers 429 to a user over STEP_MAX_UPLOADS_PER_USER concurrent uploads; other users are not affected', async () => {
    await savePlan(conn, token, 'u1', 100);
    await savePlan(conn, token, 'u2', 100);
    const third = await save({ key: 'u3', size: 100 });
    expect(third.json).toMatchObject({ status: 429, status_msg: 'Too many uploads in progress (at most 2 per user).' });
    // Restarting one of the user's own uploads is not a new one.
    expect(statusOf(await save({ key: 'u1', size: 200 }))).toBe(200);
    const otherToken = await login(conn, 'limits-other');
    expect(statusOf(await save({ key: 'u3', size: 100 }, otherToken))).toBe(200);
    expect(statusOf(await conn.request(fileRequest(otherToken, 'DELETE', { key: 'u3' })))).toBe(200);
    // A finished upload frees its slot.
    const block = randomBytes(100);
    const done = await conn.request(fileRequest(token, 'UPLOAD', { key: 'u2', block_index: 0 }), block);
    expect(done.json).toMatchObject({ status: 200, md5: md5Of(block) });
    expect(statusOf(await save({ key: 'u3', size: 100 }))).toBe(200);
    for (const key of ['u1', 'u2', 'u3']) expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key })))).toBe(200);
  });

  it('grants no more than STEP_MAX_UPLOADS_PER_USER plans to parallel SAVEs of different keys', async () => {
    const racer = await login(conn, 'limits-racer');
    const conns = await Promise.all(Array.from({ length: 10 }, () => app.connect()));
    const replies = await Promise.all(conns.map((c, i) => c.request(fileRequest(racer, 'SAVE', { key: `race-${i}`, size: 40_000 }))));
    expect(replies.map(statusOf).filter((s) => s === 200)).toHaveLength(2);
    expect(replies.map(statusOf).filter((s) => s === 429)).toHaveLength(8);
    for (const [i, reply] of replies.entries()) {
      if (statusOf(reply) === 200) expect(statusOf(await conn.request(fileRequest(racer, 'DELETE', { key: `race-${i}` })))).toBe(200);
    }
  });

  it('answers 507 to a plan that would take the user over STEP_USER_QUOTA_BYTES (completed and in-progress bytes count)', async () => {
    const data = randomBytes(90_000);
    const plan = await savePlan(conn, token, 'quota-1', data.length, { block_size: 65536 });
    for (let i = 0; i < plan.total_block; i++) {
      expect(statusOf(await conn.request(fileRequest(token, 'UPLOAD', { key: 'quota-1', block_index: i }), blockOf(data, i, 65536)))).toBe(
        200,
      );
    }
    const over = await save({ key: 'quota-2', size: 60_001 });
    expect(over.json).toMatchObject({ status: 507, status_msg: 'Storage quota of 150000 bytes exceeded.' });
    expect(statusOf(await save({ key: 'quota-2', size: 60_000 }))).toBe(200);
    expect(statusOf(await save({ key: 'quota-3', size: 1 }))).toBe(507);
    // Deleting frees the quota.
    expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key: 'quota-1' })))).toBe(200);
    expect(statusOf(await save({ key: 'quota-3', size: 1 }))).toBe(200);
    for (const key of ['quota-2', 'quota-3']) expect(statusOf(await conn.request(fileRequest(token, 'DELETE', { key })))).toBe(200);
  });
});

describe('storage faults', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;
  let storage: BlockStorage;

  beforeAll(async () => {
    app = await startTestApp({ STEP_MIN_BLOCK_SIZE: String(BLOCK) });
    conn = await app.connect();
    token = await login(conn, 'faults');
    storage = app.app.get(BlockStorage);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => app.stop());

  async function uploadAll(key: string, data: Buffer, indices: number[]): Promise<number[]> {
    const replies = await Promise.all(
      indices.map((i) => conn.request(fileRequest(token, 'UPLOAD', { key, block_index: i }), blockOf(data, i, BLOCK))),
    );
    return replies.map(statusOf);
  }

  it.each([
    ['ENOSPC', 507, 'No space left to store block 2. Try again later.'],
    ['EDQUOT', 507, 'No space left to store block 2. Try again later.'],
    ['EIO', 500, 'Block 2 could not be stored. Try again.'],
  ])('answers a %s while writing a block with %i, does not acknowledge it, and the upload resumes', async (code, status, message) => {
    const key = `fault-${code}`;
    const data = randomBytes(5 * BLOCK);
    await savePlan(conn, token, key, data.length, { block_size: BLOCK });
    const original = storage.writeBlock.bind(storage);
    vi.spyOn(storage, 'writeBlock').mockImplementation(async (handle, block, offset) => {
      if (offset === 2 * BLOCK) throw fsError(code);
      return original(handle, block, offset);
    });
    expect(await uploadAll(key, data, [0, 1, 2, 3])).toEqual([200, 200, status, 200]);
    const failed = await conn.request(fileRequest(token, 'UPLOAD', { key, block_index: 2 }), blockOf(data, 2, BLOCK));
    expect(failed.json).toMatchObject({ status, status_msg: message });
    const status1 = await conn.request(fileRequest(token, 'STATUS', { key }));
    expect(status1.json).toMatchObject({
      status: 200,
      received_count: 3,
      missing_ranges: [
        [2, 2],
        [4, 4],
      ],
      complete: false,
    });
    vi.restoreAllMocks();
    expect(await uploadAll(key, data, [2, 4])).toEqual([200, 200]);
    const { data: back, plan } = await downloadAll(conn, token, key);
    expect(plan.md5).toBe(md5Of(data));
    expect(back.equals(data)).toBe(true);
  });

  it('answers an fsync error at completion with 500; re-sending the last block completes the file', async () => {
    const key = 'fault-fsync';
    const data = randomBytes(3 * BLOCK);
    await savePlan(conn, token, key, data.length, { block_size: BLOCK });
    vi.spyOn(storage, 'sync').mockRejectedValueOnce(fsError('EIO'));
    expect(await uploadAll(key, data, [0, 1])).toEqual([200, 200]);
    expect(await uploadAll(key, data, [2])).toEqual([500]);
    const notVisible = await conn.request(fileRequest(token, 'GET', { key }));
    expect(statusOf(notVisible)).toBe(404);
    const retried = await conn.request(fileRequest(token, 'UPLOAD', { key, block_index: 2 }), blockOf(data, 2, BLOCK));
    expect(retried.json).toMatchObject({ status: 200, md5: md5Of(data) });
    expect((await downloadAll(conn, token, key)).data.equals(data)).toBe(true);
  });

  it('answers 507 to a plan when the disk has less than STEP_MIN_FREE_BYTES free after it', async () => {
    vi.spyOn(storage, 'freeBytes').mockResolvedValue(64 * 1024 * 1024 + 1000);
    const reply = await conn.request(fileRequest(token, 'SAVE', { key: 'no-room', size: 1001 }));
    expect(reply.json).toMatchObject({ status: 507, status_msg: 'Not enough free disk space to store 1001 bytes.' });
    expect(statusOf(await conn.request(fileRequest(token, 'SAVE', { key: 'no-room', size: 1000 })))).toBe(200);
  });

  it('keeps serving after all of it', async () => {
    expect(statusOf(await conn.request({ direction: 'EARTH' }))).toBe(333);
    const fresh = await app.connect();
    expect(await login(fresh, 'after-faults')).toBeTruthy();
  });
});

describe('free-space check from the configuration', () => {
  it('answers 507 to every plan when STEP_MIN_FREE_BYTES exceeds the free space', async () => {
    const app = await startTestApp({ STEP_MIN_FREE_BYTES: String(2 ** 52) });
    try {
      const conn = await app.connect();
      const token = await login(conn, 'full');
      const reply = await conn.request(fileRequest(token, 'SAVE', { key: 'k', size: 1 }));
      expect(reply.json).toMatchObject({ status: 507, status_msg: 'Not enough free disk space to store 1 bytes.' });
    } finally {
      await app.stop();
    }
  });
});

describe('block size defaults within the configured bounds', () => {
  it('grants STEP_MAX_BLOCK_SIZE instead of 20480 when the maximum is smaller (20480-byte blocks would get 413)', async () => {
    const app = await startTestApp({ STEP_MIN_BLOCK_SIZE: '1024', STEP_MAX_BLOCK_SIZE: '8192' });
    try {
      const conn = await app.connect();
      const token = await login(conn, 'small-blocks');
      const data = randomBytes(20_000);
      const plan = await savePlan(conn, token, 'k', data.length);
      expect(plan).toMatchObject({ block_size: 8192, total_block: 3 });
      for (let i = 0; i < 3; i++) {
        expect(statusOf(await conn.request(fileRequest(token, 'UPLOAD', { key: 'k', block_index: i }), blockOf(data, i, 8192)))).toBe(200);
      }
      const back = await downloadAll(conn, token, 'k');
      expect(back.plan).toMatchObject({ block_size: 8192, md5: md5Of(data) });
      expect(back.data.equals(data)).toBe(true);
    } finally {
      await app.stop();
    }
  });
});
