import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A task whose runs finish only when the test says so. */
function controlledTask() {
  const runs: Array<{ finish(): void; fail(err: Error): void }> = [];
  const task = () =>
    new Promise<void>((resolve, reject) => {
      runs.push({ finish: resolve, fail: reject });
    });
  return { runs, task };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('makes callers that arrive during a run share the next one, started after it', async () => {
    const { runs, task } = controlledTask();
    const commit = new GroupCommit(task);
    const done: string[] = [];
    void commit.run().then(() => done.push('a'));
    expect(runs).toHaveLength(1);
    // b and c arrive while run 1 is under way: it may predate their changes, so they wait for run 2.
    void commit.run().then(() => done.push('b'));
    void commit.run().then(() => done.push('c'));
    expect(runs).toHaveLength(1);
    runs[0].finish();
    await tick();
    expect(done).toEqual(['a']);
    expect(runs).toHaveLength(2);
    runs[1].finish();
    await tick();
    expect(done).toEqual(['a', 'b', 'c']);
    // Idle again: the next caller starts a run of its own at once.
    void commit.run();
    expect(runs).toHaveLength(3);
    runs[2].finish();
  });

  it('passes a failed run on to its callers only, and keeps working after it', async () => {
    const { runs, task } = controlledTask();
    const commit = new GroupCommit(task);
    const first = commit.run();
    const second = commit.run();
    runs[0].fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    await tick();
    runs[1].finish();
    await expect(second).resolves.toBeUndefined();
  });
});
