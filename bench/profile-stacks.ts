/**
 * Stack views of a V8 .cpuprofile, beside profile-summary's self times: the inclusive time of
 * each function (itself and everything it called), and the folded stacks a flame graph is drawn
 * from (`frame;frame;frame microseconds` per line, the input of flamegraph.pl, inferno or
 * speedscope). Idle and garbage-collector samples are left out of both.
 */

/** The part of a .cpuprofile these views read. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

const LEFT_OUT = new Set(['(idle)', '(garbage collector)', '(root)']);

/** A frame's name: function, then file (trimmed to dist/ or node_modules/) and line. */
export function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const at = frame.url.search(/\/(node_modules|dist)\//);
  const where = at >= 0 ? frame.url.slice(at + 1) : frame.url.replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
}

/** Each sample's stack, root first, as frame names; samples whose leaf is idle or GC are skipped. */
function sampledStacks(profile: CpuProfile): Array<{ stack: string[]; us: number }> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const cache = new Map<number, string[]>();
  const stackOf = (id: number): string[] => {
    let stack = cache.get(id);
    if (!stack) {
      const node = byId.get(id)!;
      const up = parent.get(id);
      const name = node.callFrame.functionName;
      stack = up === undefined ? [] : stackOf(up);
      if (!LEFT_OUT.has(name)) stack = [...stack, frameName(node.callFrame)];
      cache.set(id, stack);
    }
    return stack;
  };
  const out: Array<{ stack: string[]; us: number }> = [];
  profile.samples.forEach((id, i) => {
    if (LEFT_OUT.has(byId.get(id)!.callFrame.functionName)) return;
    const stack = stackOf(id);
    if (stack.length > 0) out.push({ stack, us: profile.timeDeltas[i] ?? 0 });
  });
  return out;
}

/** Folded stacks, heaviest first: `root;...;leaf microseconds`. */
export function foldedStacks(profile: CpuProfile): string[] {
  const totals = new Map<string, number>();
  for (const { stack, us } of sampledStacks(profile)) {
    const key = stack.map((frame) => frame.replaceAll(';', ',')).join(';');
    totals.set(key, (totals.get(key) ?? 0) + us);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([stack, us]) => `${stack} ${Math.round(us)}`);
}

/**
 * Inclusive time per function, heaviest first, with the busy (non-idle, non-GC) total: a
 * function's share is of the samples in which it was anywhere on the stack (once per sample,
 * however deep its recursion).
 */
export function inclusiveTimes(profile: CpuProfile): { busyUs: number; functions: Array<[string, number]> } {
  const totals = new Map<string, number>();
  let busyUs = 0;
  for (const { stack, us } of sampledStacks(profile)) {
    busyUs += us;
    for (const frame of new Set(stack)) totals.set(frame, (totals.get(frame) ?? 0) + us);
  }
  return { busyUs, functions: [...totals.entries()].sort((a, b) => b[1] - a[1]) };
}
