import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  duplicateExportedTypes,
  findCycles,
  folderEdges,
  forbiddenImports,
  importSpecifiers,
  packageOf,
  readSourceFiles,
  type SourceFile,
} from './helpers/source-tree.js';

/**
 * The layout rules of the README's "Layout" section, checked on the tree itself (this spec also
 * runs in `npm run lint`). Each rule first proves on a made-up tree that it can fail.
 */
const ROOT = join(import.meta.dirname, '..');
const MAX_LINES = 300;

const file = (path: string, text: string): SourceFile => ({ path, text });
const tree = readSourceFiles(ROOT, ['src', 'bench']);

describe('the rules, on a made-up tree', () => {
  it('find a cycle between folders, and none in a one-way graph', () => {
    const cyclic = [file('src/a/x.ts', "import { y } from '../b/y.js';"), file('src/b/y.ts', "import { x } from '../a/x.js';")];
    expect(findCycles(folderEdges(cyclic))).toEqual([['src/a', 'src/b', 'src/a']]);
    expect(findCycles(folderEdges(cyclic.slice(0, 1)))).toEqual([]);
  });

  it('see static, type-only, re-export and dynamic imports', () => {
    const text =
      "import type { A } from './a.js';\nexport * from '../b/b.js';\nimport 'reflect-metadata';\nconst c = await import('../c/c.js');";
    expect(importSpecifiers(text).sort()).toEqual(['../b/b.js', '../c/c.js', './a.js', 'reflect-metadata']);
  });

  it('find a forbidden import, a shared exported name and a package name', () => {
    expect(
      forbiddenImports([file('src/client/c.ts', "import { S } from '../transport/s.js';")], ['src/client'], 'src/transport'),
    ).toHaveLength(1);
    const dupes = duplicateExportedTypes([file('src/a.ts', 'export class Pool {}'), file('src/b.ts', 'export interface Pool {}')]);
    expect([...dupes.keys()]).toEqual(['Pool']);
    expect([packageOf('@nestjs/common/x'), packageOf('typeorm'), packageOf('node:fs'), packageOf('./x.js')]).toEqual([
      '@nestjs/common',
      'typeorm',
      null,
      null,
    ]);
  });
});

describe('the layout of this tree', () => {
  it('has no import cycle between the top-level folders of src/', () => {
    const edges = folderEdges(tree);
    const cycles = findCycles(edges).map((cycle) =>
      cycle.map((node, i) => (i === 0 ? node : `${edges.get(cycle[i - 1])?.get(node)}`)).join('\n  '),
    );
    expect(cycles).toEqual([]);
  });

  it('keeps the wire format free of Nest and of the server: client, cli and bench never import src/transport', () => {
    expect(forbiddenImports(tree, ['src/client', 'src/cli', 'src/protocol', 'bench'], 'src/transport')).toEqual([]);
    const outside = tree
      .filter((f) => f.path.startsWith('src/protocol/'))
      .flatMap((f) => importSpecifiers(f.text).map((s) => `${f.path} -> ${s}`))
      .filter((edge) => {
        const specifier = edge.split(' -> ')[1];
        return specifier.startsWith('.')
          ? specifier.startsWith('../') && !edge.includes('.spec.ts')
          : !specifier.startsWith('node:') && specifier !== 'vitest';
      });
    expect(outside).toEqual([]);
  });

  it(`has no source file in src/ or bench/ over ${MAX_LINES} lines`, () => {
    const long = tree
      .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('gives every exported class, interface, type and enum its own name', () => {
    expect(Object.fromEntries(duplicateExportedTypes(tree))).toEqual({});
  });

  it('imports every runtime dependency somewhere', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const sources = [...tree, file('ormconfig.ts', readFileSync(join(ROOT, 'ormconfig.ts'), 'utf8'))];
    const imported = new Set(sources.flatMap((f) => importSpecifiers(f.text).map(packageOf)));
    const unused = Object.keys(pkg.dependencies).filter((name) => !imported.has(name));
    expect(unused).toEqual([]);
  });
});
