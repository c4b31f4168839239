import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** One TypeScript file of the tree: where it is, what it says, what it imports. */
export interface SourceFile {
  /** Path relative to the repository root, with `/` separators. */
  path: string;
  text: string;
}

/** Every `.ts` file under `dirs` (relative to `root`), sorted by path. */
export function readSourceFiles(root: string, dirs: string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push({ path, text: readFileSync(join(root, path), 'utf8') });
    }
  };
  for (const dir of dirs) walk(dir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

const IMPORT_SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g;

/** The module specifiers a file imports or re-exports (static, side-effect and literal dynamic imports). */
export function importSpecifiers(text: string): string[] {
  return [...text.matchAll(IMPORT_SPECIFIER)].map((match) => match[1] ?? match[2] ?? match[3]);
}

/** A relative specifier resolved to a repository path (`.js` suffix mapped back to `.ts`). */
export function resolveRelative(fromPath: string, specifier: string): string {
  const resolved = normalize(join(dirname(fromPath), specifier))
    .split(sep)
    .join('/');
  return resolved.replace(/\.js$/, '.ts');
}

/** The unit a file belongs to for the folder graph: `src/<folder>` (files directly in src/ are `src`). */
export function folderOf(path: string): string {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? `src/${parts[1]}` : parts[0];
}

/** Edges between top-level folders of `src/`, each with one file-level import as evidence. */
export function folderEdges(files: SourceFile[]): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of files) {
    if (!file.path.startsWith('src/') || file.path.endsWith('.spec.ts')) continue;
    const from = folderOf(file.path);
    for (const specifier of importSpecifiers(file.text)) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveRelative(file.path, specifier);
      const to = folderOf(target);
      if (to === from || !target.startsWith('src/')) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${file.path} -> ${target}`);
      edges.set(from, out);
    }
  }
  return edges;
}

/** Every cycle of the graph, each as a path `a -> b -> ... -> a` (one per strongly connected set). */
export function findCycles(edges: Map<string, Map<string, string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node)?.keys() ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

const EXPORTED_TYPE = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

/** Names exported as a class, interface, type or enum by more than one file, with the files. */
export function duplicateExportedTypes(files: SourceFile[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const file of files) {
    for (const [, name] of file.text.matchAll(EXPORTED_TYPE)) owners.set(name, [...(owners.get(name) ?? []), file.path]);
  }
  return new Map([...owners].filter(([, paths]) => paths.length > 1));
}

/** The package a bare specifier names (`@scope/name` or `name`), or null for a relative or node: one. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Files that import, from `fromDirs`, any file under `forbidden` (paths relative to the root). */
export function forbiddenImports(files: SourceFile[], fromDirs: string[], forbidden: string): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (!fromDirs.some((dir) => file.path.startsWith(`${dir}/`))) continue;
    for (const specifier of importSpecifiers(file.text)) {
      if (specifier.startsWith('.') && resolveRelative(file.path, specifier).startsWith(`${forbidden}/`)) {
        found.push(`${file.path} -> ${specifier}`);
      }
    }
  }
  return found;
}

/** `path` relative to `root` with `/` separators. */
export function repoPath(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}
