import { describe, expect, it } from 'vitest';
import { StepError } from './step.error.js';
import { StepStatus } from './step-status.js';

describe('StepError', () => {
  it('captures no stack for a refusal (4xx), and keeps one for a server fault (5xx)', () => {
    const limit = Error.stackTraceLimit;
    const refusal = StepError.keyNotFound('k');
    expect(refusal.stack).toBe('StepError: The key k is not existing.');
    expect(refusal).toBeInstanceOf(Error);
    expect(StepError.internal().stack).toMatch(/\n\s+at /);
    expect(new StepError(StepStatus.UNAVAILABLE, 'busy').stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('plain').stack).toMatch(/\n\s+at /);
  });
});
