import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeSatisfies } from './helpers/node-range.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('package.json entry points (the README front door)', () => {
  it('starts and exposes binaries from files the build actually writes', async () => {
    const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    const started = /(?:^|\s)node (\S+)(?: serve)?$/.exec(pkg.scripts.start)?.[1];
    expect(started).toBeDefined();
    expect(pkg.scripts.prestart).toContain(started);
    const entries = [started!, ...Object.values(pkg.bin)];
    for (const entry of entries) await expect(access(`${root}${entry}`)).resolves.toBeUndefined();
    for (const bin of Object.values(pkg.bin))
      expect((await readFile(`${root}${bin}`, 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('installs without EBADENGINE: every locked package accepts the Node versions engines names', async () => {
    const lock = JSON.parse(await readFile(`${root}package-lock.json`, 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const oldest = '20.19.0';
    const refusing = Object.entries(lock.packages)
      .filter(([path, meta]) => path !== '' && typeof meta.engines?.node === 'string' && !nodeSatisfies(oldest, meta.engines.node))
      .map(([path, meta]) => `${path} (${meta.engines!.node})`);
    expect(refusing).toEqual([]);
  });
});
