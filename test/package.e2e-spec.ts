import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('package.json entry points (the README front door)', () => {
  it('starts and exposes binaries from files the build actually writes', async () => {
    const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    const started = /(?:^|\s)node (\S+)$/.exec(pkg.scripts.start)?.[1];
    expect(started).toBeDefined();
    expect(pkg.scripts.prestart).toContain(started);
    const entries = [started!, ...Object.values(pkg.bin)];
    for (const entry of entries) await expect(access(`${root}${entry}`)).resolves.toBeUndefined();
    for (const bin of Object.values(pkg.bin)) expect((await readFile(`${root}${bin}`, 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
