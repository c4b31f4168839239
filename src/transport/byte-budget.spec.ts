import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';

describe('ByteBudget', () => {
  it('grants takes up to its limit, refuses beyond it and counts what is given back', () => {
    const budget = new ByteBudget(10);
    expect(budget.tryTake(6)).toBe(true);
    expect(budget.tryTake(5)).toBe(false);
    expect(budget.inUse).toBe(6);
    expect(budget.tryTake(4)).toBe(true);
    budget.give(6);
    expect(budget.inUse).toBe(4);
    expect(budget.tryTake(6)).toBe(true);
    expect(budget.tryTake(1)).toBe(false);
  });

  it('serves waiters in order as bytes come back, and lets nobody jump the line', () => {
    const budget = new ByteBudget(10);
    const granted: string[] = [];
    budget.take(8, () => granted.push('a'));
    budget.take(6, () => granted.push('b'));
    budget.take(2, () => granted.push('c'));
    expect(granted).toEqual(['a']);
    // 2 bytes would fit, but b waits first.
    expect(budget.tryTake(2)).toBe(false);
    budget.give(8);
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(budget.inUse).toBe(8);
  });

  it('grants a request larger than the allowance only when nothing else is taken', () => {
    const budget = new ByteBudget(10);
    expect(budget.tryTake(3)).toBe(true);
    let granted = false;
    budget.take(50, () => (granted = true));
    expect(granted).toBe(false);
    budget.give(3);
    expect(granted).toBe(true);
    expect(budget.inUse).toBe(50);
  });

  it('forgets a cancelled waiter and serves the next one', () => {
    const budget = new ByteBudget(10);
    budget.tryTake(5);
    const granted: string[] = [];
    const cancel = budget.take(10, () => granted.push('big'));
    budget.take(4, () => granted.push('small'));
    expect(granted).toEqual([]);
    cancel();
    expect(granted).toEqual(['small']);
    expect(budget.waiting).toBe(0);
  });
});
