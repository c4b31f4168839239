import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadState } from './download-state.js';

describe('DownloadState', () => {
  let dir: string;
  const plan = { size: 100_000, blockSize: 4096, totalBlocks: 25 };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-state-spec-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('round-trips the received blocks of the same plan and forgets them for another plan', async () => {
    const path = join(dir, 'x.state');
    const state = await DownloadState.load(path, 'k', plan, 'a'.repeat(32));
    state.received[0] = 1;
    state.received[24] = 1;
    await state.save();
    const again = await DownloadState.load(path, 'k', plan, 'a'.repeat(32));
    expect(again.count()).toBe(2);
    expect([again.received[0], again.received[1], again.received[24]]).toEqual([1, 0, 1]);
    expect((await DownloadState.load(path, 'k', plan, 'b'.repeat(32))).count()).toBe(0);
    expect((await DownloadState.load(path, 'other', plan, 'a'.repeat(32))).count()).toBe(0);
  });

  it('serialises overlapping saves (a timer save racing the final one) and removes cleanly after them', async () => {
    const path = join(dir, 'y.state');
    const state = await DownloadState.load(path, 'k', plan, 'a'.repeat(32));
    await Promise.all([state.save(), state.save(), state.save()]);
    void state.save();
    await state.remove();
    await expect(stat(path)).rejects.toThrow();
  });
});
