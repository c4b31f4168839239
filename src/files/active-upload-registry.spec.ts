import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { ActiveUpload } from './active-upload.js';
import { LocalClusterLocks } from '../cluster/cluster-locks.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockBitmap } from './block-bitmap.js';
import type { UploadEntity } from './entities/upload.entity.js';
import { PrefixHasher } from './prefix-hasher.js';

/** A partial file that only counts how often it was closed. */
function fakeHandle(): FileHandle & { closed: number } {
  const handle = { closed: 0, close: async () => void handle.closed++ };
  return handle as unknown as FileHandle & { closed: number };
}

function upload(username: string, key: string, id = `${username}/${key}`): ActiveUpload {
  const row = { id, username, key, size: 8, blockSize: 4, totalBlock: 2, state: 'uploading' } as UploadEntity;
  return new ActiveUpload(row, fakeHandle(), new BlockBitmap(2), new PrefixHasher(1024, new BlockBufferPool()));
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ActiveUploadRegistry', () => {
  it('holds one upload per user and key, and forgets it only if it is still the one held', () => {
    const registry = new ActiveUploadRegistry(new LocalClusterLocks());
    const first = upload('alice', 'k', 'old');
    const newer = upload('alice', 'k', 'new');
    registry.add(first);
    registry.add(upload('bob', 'k'));
    expect(registry.size).toBe(2);
    registry.add(newer);
    expect(registry.size).toBe(2);
    registry.remove(first);
    expect(registry.get('alice', 'k')).toBe(newer);
    registry.remove(newer);
    expect(registry.get('alice', 'k')).toBeUndefined();
    expect([...registry.values()].map((u) => u.row.username)).toEqual(['bob']);
  });

  it('tells users apart whatever their names hold (no separator collision)', async () => {
    const registry = new ActiveUploadRegistry(new LocalClusterLocks());
    const order: string[] = [];
    const gate = deferred();
    const a = registry.withKey('a\nb', 'c', async () => {
      await gate.promise;
      order.push('a\\nb/c');
    });
    const b = registry.withKey('a', 'b\nc', async () => void order.push('a/b\\nc'));
    await b;
    expect(order).toEqual(['a/b\\nc']);
    gate.resolve();
    await a;
  });

  it('runs work on one key one at a time, in order', async () => {
    const registry = new ActiveUploadRegistry(new LocalClusterLocks());
    const order: string[] = [];
    const gate = deferred();
    const first = registry.withKey('alice', 'k', async () => {
      await gate.promise;
      order.push('first');
    });
    const second = registry.withKey('alice', 'k', async () => void order.push('second'));
    await tick();
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('evicts an upload: forgotten at once, its file closed only after the writes in flight', async () => {
    const registry = new ActiveUploadRegistry(new LocalClusterLocks());
    const u = upload('alice', 'k');
    const handle = u.handle as FileHandle & { closed: number };
    registry.add(u);
    const write = deferred();
    const writing = u.trackWrite(0, write.promise);
    expect(u.isDuplicate(0)).toBe(true);
    const evicted = registry.evict(u);
    expect(registry.get('alice', 'k')).toBeUndefined();
    await tick();
    expect(handle.closed).toBe(0);
    write.resolve();
    await Promise.all([writing, evicted]);
    expect(handle.closed).toBe(1);
    expect(u.handle).toBeNull();
    // Closing twice (a cancel racing a failed completion) closes the file once.
    await u.close();
    expect(handle.closed).toBe(1);
  });

  it('closes every upload at shutdown, after a prefix read-back in flight', async () => {
    const registry = new ActiveUploadRegistry(new LocalClusterLocks());
    const uploads = [upload('alice', 'a'), upload('bob', 'b')];
    uploads.forEach((u) => registry.add(u));
    const readBack = deferred();
    uploads[0].advancing = readBack.promise.then(() => {
      uploads[0].advancing = null;
    });
    const closing = registry.closeAll();
    await tick();
    expect((uploads[0].handle as FileHandle & { closed: number }).closed).toBe(0);
    readBack.resolve();
    await closing;
    expect(uploads.map((u) => u.handle)).toEqual([null, null]);
    expect(registry.size).toBe(0);
  });
});
