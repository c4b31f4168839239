import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUploadServicesOn, SPEC_ENGINES, type UploadServices } from '../../test/helpers/upload-services.js';
import { md5Hex } from '../common/md5.js';
import { StepStatus } from '../protocol/index.js';

const BLOCK = 4096;

describe.each(SPEC_ENGINES)('%s: UploadFinisher (docs/protocol.md §6: completion exactly once)', (engine) => {
  let s: UploadServices;
  beforeEach(async () => {
    s = await createUploadServicesOn(engine);
  });
  afterEach(() => s.close());

  it('finishes once for every caller: one MD5, the file in place, the counters and the registry updated', async () => {
    const content = randomBytes(3 * BLOCK + 7);
    const plan = await s.plan('alice', 'f', content, BLOCK);
    for (let index = 0; index < (plan.total_block as number) - 1; index++) await s.send('alice', 'f', content, BLOCK, index);
    const upload = s.registry.get('alice', 'f')!;
    const promote = vi.spyOn(s.storage, 'promote');
    const last = s.send('alice', 'f', content, BLOCK, 3);
    const [reply, again] = await Promise.all([last, s.finisher.complete(upload)]);
    expect(reply.fields.md5).toBe(md5Hex(content));
    expect(again).toBe(md5Hex(content));
    expect(promote).toHaveBeenCalledTimes(1);
    expect(s.counters).toMatchObject({ completed: 1, failed: 0 });
    expect(s.registry.get('alice', 'f')).toBeUndefined();
    expect(upload.handle).toBeNull();
    const row = (await s.ledger.find('alice', 'f'))!;
    expect(row).toMatchObject({ state: 'complete', md5: md5Hex(content) });
    expect(await s.storage.hashFile(row.storageName, content.length, true)).toBe(md5Hex(content));
  });

  it('refuses to finish a cancelled upload (408)', async () => {
    const content = randomBytes(BLOCK);
    await s.plan('alice', 'c', content, BLOCK);
    const upload = s.registry.get('alice', 'c')!;
    await s.receiver.cancel('alice', 'c');
    await expect(s.finisher.complete(upload)).rejects.toMatchObject({ status: StepStatus.OPERATION_NOT_ALLOWED });
    expect(s.counters.completed).toBe(0);
  });

  it('after a failed completion answers 500, counts it, and leaves the upload resumable so a retry finishes it', async () => {
    const content = randomBytes(2 * BLOCK);
    await s.plan('alice', 'retry', content, BLOCK);
    await s.send('alice', 'retry', content, BLOCK, 0);
    vi.spyOn(s.storage, 'promote').mockRejectedValueOnce(new Error('disk went away'));
    await expect(s.send('alice', 'retry', content, BLOCK, 1)).rejects.toMatchObject({ status: StepStatus.INTERNAL });
    expect(s.counters.failed).toBe(1);
    expect(s.registry.get('alice', 'retry')).toBeUndefined();
    expect((await s.ledger.find('alice', 'retry'))!.state).toBe('uploading');
    // The client retries the last block: the upload is loaded again and completes.
    expect((await s.send('alice', 'retry', content, BLOCK, 1)).fields.md5).toBe(md5Hex(content));
    expect(s.counters.completed).toBe(1);
  });

  it('hashes blocks too large for the in-memory window by reading them back, without a full pass over the file', async () => {
    const big = 17 * 1024 * 1024;
    const content = randomBytes(2 * big);
    await s.plan('alice', 'big', content, big);
    const fullRead = vi.spyOn(s.storage, 'hashFile');
    await s.send('alice', 'big', content, big, 1);
    expect((await s.send('alice', 'big', content, big, 0)).fields.md5).toBe(md5Hex(content));
    expect(fullRead).not.toHaveBeenCalled();
  });
});
