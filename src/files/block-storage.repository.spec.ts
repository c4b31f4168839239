import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockBufferPool } from '../common/block-buffer-pool.js';
import { loadConfig } from '../config/step.config.js';
import { BlockStorage } from './block-storage.repository.js';

/** This process's open descriptors on `path`. */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) count++;
  return count;
}

describe.runIf(process.platform === 'linux')('BlockStorage: promoting complete uploads', () => {
  let dataDir: string;
  let storage: BlockStorage;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepd-storage-'));
    storage = new BlockStorage(loadConfig({ STEP_DATA_DIR: dataDir, LOG_LEVEL: 'fatal' }), new BlockBufferPool());
    await storage.onModuleInit();
  });
  afterEach(async () => {
    await storage.onModuleDestroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  const complete = async (name: string, content: Buffer) => {
    const handle = await storage.createPartial(name, content.length);
    await storage.writeBlock(handle, content, 0);
    await storage.sync(handle);
    await handle.close();
    await storage.promote(name);
  };

  it('moves each file into the visible files, also when many complete at once', async () => {
    const names = Array.from({ length: 16 }, (_, i) => `file-${i}`);
    await Promise.all(names.map((name, i) => complete(name, Buffer.alloc(100 + i, i))));
    for (const [i, name] of names.entries()) {
      expect(await storage.exists(name, true)).toBe(true);
      expect(await storage.exists(name, false)).toBe(false);
      expect(await storage.hashFile(name, 100 + i, true)).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('fsyncs the files directory through one handle kept open, closed at shutdown', async () => {
    const filesDir = join(dataDir, 'files');
    await complete('a', Buffer.from('first'));
    await complete('b', Buffer.from('second'));
    await Promise.all([complete('c', Buffer.from('third')), complete('d', Buffer.from('fourth'))]);
    expect(await descriptorsOn(filesDir)).toBe(1);
    await storage.onModuleDestroy();
    expect(await descriptorsOn(filesDir)).toBe(0);
  });
});
