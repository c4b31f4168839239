import { describe, expect, it } from 'vitest';
import { foldedStacks, inclusiveTimes, type CpuProfile } from './profile-stacks.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

// (root) -> main -> { parse, write -> writeBuffer }, plus idle and GC beside main.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 6, 7] },
    { id: 2, callFrame: frame('main', 'file:///x/dist/src/main.js', 9), children: [3, 4] },
    { id: 3, callFrame: frame('parse', 'file:///x/dist/src/a;b.js', 0) },
    { id: 4, callFrame: frame('write', 'file:///x/node_modules/pg/lib/c.js', 4), children: [5] },
    { id: 5, callFrame: frame('writeBuffer') },
    { id: 6, callFrame: frame('(idle)') },
    { id: 7, callFrame: frame('(garbage collector)') },
  ],
  samples: [3, 5, 5, 2, 6, 7, 3],
  timeDeltas: [10, 20, 30, 40, 1000, 500, 5],
};

describe('profile stacks', () => {
  it('folds each sampled stack root first, heaviest first, without idle and GC samples', () => {
    expect(foldedStacks(profile)).toEqual([
      'main dist/src/main.js:10;write node_modules/pg/lib/c.js:5;writeBuffer 50',
      'main dist/src/main.js:10 40',
      'main dist/src/main.js:10;parse dist/src/a,b.js:1 15',
    ]);
  });

  it('gives each function the time of every busy sample it is on the stack of', () => {
    const { busyUs, functions } = inclusiveTimes(profile);
    expect(busyUs).toBe(105);
    expect(Object.fromEntries(functions)).toEqual({
      'main dist/src/main.js:10': 105,
      'write node_modules/pg/lib/c.js:5': 50,
      writeBuffer: 50,
      'parse dist/src/a;b.js:1': 15,
    });
  });
});
