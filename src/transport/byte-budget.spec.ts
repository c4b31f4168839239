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
});
