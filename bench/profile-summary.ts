/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): where the server's CPU
 * time went, by function and by source file, self time only; with `--inclusive`, each function's
 * time including what it called; with `--folded`, the folded stacks of a flame graph.
 * Usage: node dist/bench/profile-summary.js [--inclusive | --folded] FILE.cpuprofile [TOP]
 */
import { readFile } from 'node:fs/promises';
import { foldedStacks, inclusiveTimes } from './profile-stacks.js';

const USAGE = 'usage: node dist/bench/profile-summary.js [--inclusive | --folded] FILE.cpuprofile [TOP]';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const at = url.search(/\/(node_modules|dist)\//);
  return at >= 0 ? url.slice(at + 1) : url.replace(/^file:\/\//, '') || '(native)';
}

function top(totals: Map<string, number>, all: number, count: number): string[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / all).toFixed(1).padStart(5)}%  ${name}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const view = args[0] === '--inclusive' || args[0] === '--folded' ? args.shift() : undefined;
  const [file, count = '25'] = args;
  if (!file || file.startsWith('--')) {
    console.error(USAGE);
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  if (view === '--folded') {
    // Every stack (no TOP): the input of a flame graph tool.
    console.log(foldedStacks(profile).join('\n'));
    return;
  }
  if (view === '--inclusive') {
    const { busyUs, functions } = inclusiveTimes(profile);
    console.log(`busy (not idle, not GC) ${(busyUs / 1000).toFixed(0)} ms\n\ninclusive time by function, share of busy time:`);
    for (const [name, us] of functions.slice(0, Number(count))) {
      console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${name}`);
    }
    return;
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = shortUrl(url);
    const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
    all += us;
  });
  console.log(`total sampled ${(all / 1000).toFixed(0)} ms\n\nself time by function:`);
  console.log(top(byFunction, all, Number(count)).join('\n'));
  console.log('\nself time by file:');
  console.log(top(byFile, all, 15).join('\n'));
}

void main();
