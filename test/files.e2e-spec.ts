import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { blockOf, downloadAll, fileRequest, md5Of, savePlan, shuffled, uploadBlocks } from './helpers/step-files.js';
import { login, startTestApp, statusOf, type TestApp } from './helpers/test-app.js';

describe('FILE operations (docs/protocol.md §6, §7)', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp();
    conn = await app.connect();
    token = await login(conn, 'alice');
  });
  afterAll(async () => app.stop());

  async function roundTrip(key: string, size: number, order: (n: number) => number[], connections = 1, duplicates = false) {
    const data = randomBytes(size);
    const plan = await savePlan(conn, token, key, size);
    expect(plan.block_size).toBe(20480);
    expect(plan.total_block).toBe(Math.ceil(size / 20480));
    const conns = [conn, ...(await Promise.all(Array.from({ length: connections - 1 }, () => app.connect())))];
    let indices = order(plan.total_block);
    if (duplicates) indices = [...indices.slice(0, -1), ...indices.slice(0, Math.min(3, indices.length - 1)), indices[indices.length - 1]];
    // Everything but the last block first, so exactly one reply completes the file.
    const last = indices[indices.length - 1];
    const first = await uploadBlocks(conns, token, key, data, plan.block_size, indices.slice(0, -1));
    expect(first.every((r) => statusOf(r) === 200 && r.json.md5 === undefined)).toBe(true);
    const [final] = await uploadBlocks([conn], token, key, data, plan.block_size, [last]);
    expect(final.json).toMatchObject({ status: 200, block_index: last, key, md5: md5Of(data) });
    const download = await downloadAll(conn, token, key);
    expect(download.plan).toMatchObject({
      status: 200,
      status_msg: 'OK. This is the download plan.',
      size,
      md5: md5Of(data),
      block_size: 20480,
    });
    expect(md5Of(download.data)).toBe(md5Of(data));
  }

  const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i);

  it('uploads 1 B, 20480 B, 20481 B and 3 MiB in order and downloads them back', async () => {
    for (const size of [1, 20480, 20481, 3 * 1024 * 1024]) await roundTrip(`in-order-${size}`, size, inOrder);
  });

  it('uploads out of order, with duplicates, over 4 parallel connections', async () => {
    await roundTrip('shuffled', 2 * 1024 * 1024 + 17, (n) => shuffled(inOrder(n)));
    await roundTrip('duplicates', 1024 * 1024 + 3, (n) => shuffled(inOrder(n), 7), 1, true);
    await roundTrip('parallel', 4 * 1024 * 1024 + 5, (n) => shuffled(inOrder(n), 3), 4);
  });

  it('computes the right md5 when large blocks arrive out of order on 4 pipelined connections', async () => {
    // Out-of-order blocks wait in the prefix hasher holding pooled request buffers while other
    // requests reuse the pool: any buffer reused too early shows up as a wrong md5 here.
    const blockSize = 4 * 1024 * 1024;
    const data = randomBytes(24 * blockSize + 4321);
    const plan = await savePlan(conn, token, 'pipelined-large', data.length, { block_size: blockSize });
    const conns = [conn, ...(await Promise.all([1, 2, 3].map(() => app.connect())))];
    const order = Array.from({ length: plan.total_block }, (_, i) => i);
    for (let i = 0; i + 4 <= order.length; i += 4) [order[i], order[i + 3]] = [order[i + 3], order[i]];
    const replies = await uploadBlocks(conns, token, 'pipelined-large', data, blockSize, order, 3);
    expect(replies.every((r) => statusOf(r) === 200)).toBe(true);
    expect(replies.find((r) => r.json.md5)?.json.md5).toBe(md5Of(data));
    expect(md5Of((await downloadAll(conn, token, 'pipelined-large', blockSize)).data)).toBe(md5Of(data));
  });

  it('ends with exactly one correct file when the completing block arrives on two connections at once', async () => {
    const data = randomBytes(100_000);
    const plan = await savePlan(conn, token, 'race', data.length);
    await uploadBlocks([conn], token, 'race', data, plan.block_size, inOrder(plan.total_block - 1));
    const other = await app.connect();
    const lastIndex = plan.total_block - 1;
    const replies = await Promise.all(
      [conn, other].map((c) =>
        c.request(fileRequest(token, 'UPLOAD', { key: 'race', block_index: lastIndex }), blockOf(data, lastIndex, plan.block_size)),
      ),
    );
    const md5s = replies.filter((r) => statusOf(r) === 200).map((r) => r.json.md5);
    expect(md5s.length).toBeGreaterThanOrEqual(1);
    for (const md5 of md5s) expect(md5).toBe(md5Of(data));
    for (const r of replies.filter((r) => statusOf(r) !== 200)) expect(r.json.status_msg).toBe('The "key" race is completely uploaded.');
    expect(md5Of((await downloadAll(conn, token, 'race')).data)).toBe(md5Of(data));
    const list = await conn.request(fileRequest(token, 'LIST', { prefix: 'race' }));
    expect(list.json.files).toHaveLength(1);
  });

  it('completes an empty file at SAVE (docs/protocol.md §6): plan with the MD5 of nothing, GET, STATUS and LIST see it', async () => {
    const empty = 'd41d8cd98f00b204e9800998ecf8427e';
    const plan = await conn.request(fileRequest(token, 'SAVE', { key: 'zero', size: 0 }));
    expect(plan.json).toMatchObject({ status: 200, key: 'zero', size: 0, total_block: 0, md5: empty });
    expect((await conn.request(fileRequest(token, 'GET', { key: 'zero' }))).json).toMatchObject({
      status: 200,
      size: 0,
      total_block: 0,
      md5: empty,
    });
    expect((await conn.request(fileRequest(token, 'STATUS', { key: 'zero' }))).json).toMatchObject({
      status: 200,
      complete: true,
      md5: empty,
    });
    expect((await conn.request(fileRequest(token, 'LIST', { prefix: 'zero' }))).json.files).toMatchObject([
      { key: 'zero', size: 0, md5: empty },
    ]);
    expect((await conn.request(fileRequest(token, 'SAVE', { key: 'zero', size: 0 }))).json).toMatchObject({ status: 402 });
    expect((await conn.request(fileRequest(token, 'DOWNLOAD', { key: 'zero', block_index: 0 }))).json).toMatchObject({ status: 410 });
  });

  it('answers every SAVE and UPLOAD status of A6 in order', async () => {
    const data = randomBytes(50_000);
    await roundTrip('done', 10, inOrder);
    expect((await conn.request(fileRequest(token, 'SAVE', { key: 'done', size: 5 }))).json).toMatchObject({
      status: 402,
      status_msg: 'This "key" done is existing.',
    });
    expect((await conn.request(fileRequest(token, 'SAVE', { key: 'nosize' }))).json).toMatchObject({
      status: 402,
      status_msg: 'This file "size" has to be included',
    });
    expect(statusOf(await conn.request(fileRequest(token, 'SAVE', { key: 'neg', size: -5 })))).toBe(400);
    expect(statusOf(await conn.request(fileRequest(token, 'SAVE', { key: 'str', size: '10' })))).toBe(400);
    const generated = await conn.request(fileRequest(token, 'SAVE', { size: 10 }));
    expect(generated.json.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    await savePlan(conn, token, 'u', data.length);
    const block = blockOf(data, 0, 20480);
    const up = (fields: Record<string, unknown>, binary: Buffer | null = block) =>
      conn.request(fileRequest(token, 'UPLOAD', fields), binary);
    expect((await up({ block_index: 0 })).json).toMatchObject({ status: 410 });
    expect((await up({ key: 'done', block_index: 0 })).json).toMatchObject({
      status: 408,
      status_msg: 'The "key" done is completely uploaded.',
    });
    expect((await up({ key: 'nothing', block_index: 0 })).json).toMatchObject({
      status: 408,
      status_msg: 'The "key" nothing is not accepted for uploading.',
    });
    expect((await up({ key: 'u' })).json).toMatchObject({ status: 410 });
    expect((await up({ key: 'u', block_index: 3 })).json).toMatchObject({ status: 405 });
    expect((await up({ key: 'u', block_index: -1 })).json).toMatchObject({ status: 410 });
    expect((await up({ key: 'u', block_index: 0 }, block.subarray(1))).json).toMatchObject({
      status: 406,
      status_msg: 'The "block_size" is wrong.',
    });
    expect((await up({ key: 'u', block_index: 2 }, block)).json).toMatchObject({ status: 406 }); // last block is shorter
    expect((await up({ key: 'u', block_index: 0 }, null)).json).toMatchObject({ status: 406 });
    expect((await up({ key: 'u', block_index: 0 })).json).toMatchObject({
      status: 200,
      status_msg: 'The block 0 is uploaded.',
      key: 'u',
      block_index: 0,
    });
  });

  it('restarts an incomplete upload from zero when SAVE is repeated', async () => {
    const data = randomBytes(60_000);
    await savePlan(conn, token, 'again', data.length);
    await uploadBlocks([conn], token, 'again', data, 20480, [0, 1]);
    await savePlan(conn, token, 'again', data.length);
    const status = await conn.request(fileRequest(token, 'STATUS', { key: 'again' }));
    expect(status.json).toMatchObject({ status: 200, received_count: 0, missing_ranges: [[0, 2]], complete: false });
  });

  it('answers every GET, DOWNLOAD and DELETE status of A7', async () => {
    await savePlan(conn, token, 'partial', 30_000);
    await roundTrip('dl', 50_000, inOrder);
    const req = (op: string, fields: Record<string, unknown>) => conn.request(fileRequest(token, op, fields));
    expect((await req('GET', {})).json.status).toBe(410);
    expect((await req('GET', { key: 'nope' })).json).toMatchObject({ status: 404, status_msg: 'The key nope is not existing.' });
    expect((await req('GET', { key: 'partial' })).json).toMatchObject({
      status: 404,
      status_msg: 'The key partial is not completely uploaded.',
    });
    expect((await req('DOWNLOAD', { block_index: 0 })).json.status).toBe(410);
    expect((await req('DOWNLOAD', { key: 'nope', block_index: 0 })).json.status).toBe(404);
    expect((await req('DOWNLOAD', { key: 'partial', block_index: 0 })).json.status).toBe(404);
    expect((await req('DOWNLOAD', { key: 'dl' })).json.status).toBe(410);
    expect((await req('DOWNLOAD', { key: 'dl', block_index: 3 })).json.status).toBe(410);
    expect((await req('DOWNLOAD', { key: 'dl', block_index: -1 })).json.status).toBe(410);
    const block = await req('DOWNLOAD', { key: 'dl', block_index: 2 });
    expect(block.json).toMatchObject({ status: 200, status_msg: 'An available block.', key: 'dl', block_index: 2, size: 50_000 - 40960 });
    expect(block.binary?.length).toBe(50_000 - 40960);
    expect((await req('DELETE', {})).json.status).toBe(410);
    expect((await req('DELETE', { key: 'nope' })).json.status).toBe(404);
    expect((await req('DELETE', { key: 'dl' })).json).toMatchObject({ status: 200, status_msg: 'The "key" dl is deleted.', key: 'dl' });
    expect((await req('GET', { key: 'dl' })).json.status).toBe(404);
    // Spec B: DELETE of an incomplete upload cancels it.
    expect((await req('DELETE', { key: 'partial' })).json.status).toBe(200);
    expect((await req('STATUS', { key: 'partial' })).json.status).toBe(404);
    expect(statusOf(await req('GET', { key: 'x', size: 1 }))).toBe(404);
    // A binary section where none belongs is refused from the JSON alone, and the connection closed.
    const stray = await app.connect();
    expect(statusOf(await stray.request(fileRequest(token, 'GET', { key: 'x' }), Buffer.from('stray')))).toBe(400);
    await expect(stray.request(fileRequest(token, 'GET', { key: 'x' }))).rejects.toThrow(/closed/);
  });

  it('negotiates block sizes (C1), reports progress (C2), lists files (C3) and checks block MD5s (C4)', async () => {
    const data = randomBytes(200_000);
    const tiny = await conn.request(fileRequest(token, 'SAVE', { key: 'tiny-blocks', size: 10, block_size: 1 }));
    expect(tiny.json.block_size).toBe(4096);
    const plan = await savePlan(conn, token, 'c1', data.length, { block_size: 65536 });
    expect(plan).toMatchObject({ block_size: 65536, total_block: 4 });
    const bad = await conn.request(
      fileRequest(token, 'UPLOAD', { key: 'c1', block_index: 0, block_md5: '0'.repeat(32) }),
      blockOf(data, 0, 65536),
    );
    expect(bad.json).toMatchObject({ status: 406, status_msg: 'Block md5 mismatch.' });
    const good = await conn.request(
      fileRequest(token, 'UPLOAD', { key: 'c1', block_index: 0, block_md5: md5Of(blockOf(data, 0, 65536)) }),
      blockOf(data, 0, 65536),
    );
    expect(statusOf(good)).toBe(200);
    await uploadBlocks([conn], token, 'c1', data, 65536, [2]);
    const status = await conn.request(fileRequest(token, 'STATUS', { key: 'c1' }));
    expect(status.json).toMatchObject({
      status: 200,
      key: 'c1',
      size: 200_000,
      block_size: 65536,
      total_block: 4,
      received_count: 2,
      missing_ranges: [
        [1, 1],
        [3, 3],
      ],
      complete: false,
    });
    await uploadBlocks([conn], token, 'c1', data, 65536, [1, 3]);
    const done = await conn.request(fileRequest(token, 'STATUS', { key: 'c1' }));
    expect(done.json).toMatchObject({ complete: true, received_count: 4, missing_ranges: [], md5: md5Of(data) });
    expect(statusOf(await conn.request(fileRequest(token, 'STATUS', { key: 'never' })))).toBe(404);
    const withMd5 = await conn.request(fileRequest(token, 'DOWNLOAD', { key: 'c1', block_index: 0, block_size: 65536 }));
    expect(withMd5.json.block_md5).toBe(md5Of(blockOf(data, 0, 65536)));
    const otherSize = await downloadAll(conn, token, 'c1', 8192);
    expect(otherSize.plan.total_block).toBe(Math.ceil(200_000 / 8192));
    expect(md5Of(otherSize.data)).toBe(md5Of(data));
    const list = await conn.request(fileRequest(token, 'LIST', { prefix: 'c', limit: 5 }));
    expect(list.json.files).toEqual([
      { key: 'c1', size: 200_000, md5: md5Of(data), created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    expect((await conn.request(fileRequest(token, 'LIST', { limit: 'x' }))).json).toMatchObject({
      status: 400,
      status_msg: 'Field "limit" has to be an integer.',
    });
    expect((await conn.request(fileRequest(token, 'LIST', { limit: 0 }))).json).toMatchObject({
      status: 400,
      status_msg: 'Field "limit" has to be at least 1.',
    });
  });

  it('keeps users apart: another user never sees, overwrites or deletes a key', async () => {
    await roundTrip('mine', 1000, inOrder);
    const bob = await login(conn, 'bob');
    const asBob = (op: string, fields: Record<string, unknown>) => conn.request(fileRequest(bob, op, fields));
    expect(statusOf(await asBob('GET', { key: 'mine' }))).toBe(404);
    expect(statusOf(await asBob('DOWNLOAD', { key: 'mine', block_index: 0 }))).toBe(404);
    expect(statusOf(await asBob('DELETE', { key: 'mine' }))).toBe(404);
    expect(statusOf(await asBob('STATUS', { key: 'mine' }))).toBe(404);
    expect((await asBob('LIST', {})).json.files).toEqual([]);
    expect(statusOf(await asBob('SAVE', { key: 'mine', size: 5 }))).toBe(200); // bob's own key of the same name
    expect(statusOf(await conn.request(fileRequest(token, 'GET', { key: 'mine' })))).toBe(200);
  });

  it('treats hostile keys as opaque strings that never reach the file system', async () => {
    const hostile = ['../../../../tmp/x', '/etc/passwd', 'a\u0000b', 'x'.repeat(1024), 'naïve/文件'];
    for (const key of hostile) {
      const data = randomBytes(300);
      const plan = await conn.request(fileRequest(token, 'SAVE', { key, size: data.length }));
      expect(plan.json).toMatchObject({ status: 200, key });
      const [reply] = await uploadBlocks([conn], token, key, data, 20480, [0]);
      expect(reply.json.md5).toBe(md5Of(data));
      expect((await downloadAll(conn, token, key)).data.equals(data)).toBe(true);
    }
    expect(statusOf(await conn.request(fileRequest(token, 'SAVE', { key: 'y'.repeat(5000), size: 1 })))).toBe(413);
    const top = (await readdir(app.dataDir)).filter((n) => !n.startsWith('stepd.sqlite')).sort();
    expect(top).toEqual(['files', 'uploads']);
    for (const name of await readdir(join(app.dataDir, 'files'))) expect(name).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('DATA records (docs/protocol.md §7, §8)', () => {
  let app: TestApp;
  let conn: StepClientConnection;
  let token: string;
  const data = (operation: string, fields: Record<string, unknown>, t = token) =>
    conn.request({ direction: 'REQUEST', type: 'DATA', operation, token: t, ...fields });

  beforeAll(async () => {
    app = await startTestApp();
    conn = await app.connect();
    token = await login(conn, 'carol');
  });
  afterAll(async () => app.stop());

  it('saves, gets, lists and deletes records with the statuses of A5', async () => {
    const saved = await data('SAVE', { key: 'k1', colour: 'blue', n: 3, nested: { a: [1] } });
    expect(saved.json).toMatchObject({ status: 200, status_msg: 'Data is saved with key "k1"', key: 'k1' });
    expect((await data('SAVE', { key: 'k1', colour: 'red' })).json).toMatchObject({
      status: 402,
      status_msg: 'This key "k1" is existing.',
    });
    const generated = await data('SAVE', { x: 1 });
    expect(generated.json.key).toMatch(/^[0-9a-f-]{36}$/);
    const got = await data('GET', { key: 'k1' });
    expect(got.json).toMatchObject({
      status: 200,
      status_msg: 'OK',
      colour: 'blue',
      n: 3,
      nested: { a: [1] },
      key: 'k1',
      type: 'DATA',
      operation: 'GET',
    });
    expect(got.json.token).toBeUndefined();
    expect((await data('GET', {})).json.status).toBe(410);
    expect((await data('GET', { key: 'zz' })).json).toMatchObject({ status: 404, status_msg: 'The key zz is not existing.' });
    expect((await data('LIST', { prefix: 'k' })).json.keys).toEqual(['k1']);
    expect((await data('LIST', { prefix: 5 })).json).toMatchObject({ status: 400, status_msg: 'Field "prefix" has to be a string.' });
    expect((await data('DELETE', {})).json.status).toBe(410);
    expect((await data('DELETE', { key: 'zz' })).json.status).toBe(404);
    expect((await data('DELETE', { key: 'k1' })).json).toMatchObject({ status: 200, status_msg: 'The "key" k1 is deleted.', key: 'k1' });
    expect((await data('GET', { key: 'k1' })).json.status).toBe(404);
  });

  it('never stores the token or password, and keeps users apart', async () => {
    await data('SAVE', { key: 'secret', password: 'hunter2', value: 1 });
    const got = await data('GET', { key: 'secret' });
    expect(got.json.password).toBeUndefined();
    expect(got.json.value).toBe(1);
    const dave = await login(conn, 'dave');
    expect((await data('GET', { key: 'secret' }, dave)).json.status).toBe(404);
    expect((await data('DELETE', { key: 'secret' }, dave)).json.status).toBe(404);
    expect((await data('LIST', {}, dave)).json.keys).toEqual([]);
  });

  it('answers DATA operations that do not exist with 408 instead of going silent', async () => {
    expect((await data('UPLOAD', { key: 'k' }, token)).json).toMatchObject({ status: 408, operation: 'UPLOAD', type: 'DATA' });
    expect((await data('DOWNLOAD', { key: 'k' }, token)).json.status).toBe(408);
  });
});

describe('block assembly under a small preallocation budget', () => {
  let app: TestApp;
  afterAll(async () => app?.stop());

  it('stores blocks correctly whether they got a preallocated buffer or not', async () => {
    // 1.5 MiB: of the 1 MiB blocks arriving at once on 4 connections, one gets a buffer up front
    // and the others are held piece by piece (copied out of the shared read buffer) instead.
    app = await startTestApp({ STEP_MAX_PREALLOCATED_BYTES: String(1.5 * 1024 * 1024) });
    const conns = await Promise.all([0, 1, 2, 3].map(() => app.connect()));
    const token = await login(conns[0], 'budget');
    const blockSize = 1024 * 1024;
    const data = randomBytes(12 * blockSize + 999);
    const plan = await savePlan(conns[0], token, 'budget', data.length, { block_size: blockSize });
    const replies = await uploadBlocks(
      conns,
      token,
      'budget',
      data,
      blockSize,
      shuffled(
        Array.from({ length: plan.total_block }, (_, i) => i),
        5,
      ),
      3,
    );
    expect(replies.every((r) => statusOf(r) === 200)).toBe(true);
    expect(replies.find((r) => r.json.md5)?.json.md5).toBe(md5Of(data));
    expect(md5Of((await downloadAll(conns[0], token, 'budget', blockSize)).data)).toBe(md5Of(data));
  });
});
