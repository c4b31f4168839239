import { describe, expect, it } from 'vitest';
import { Md5MismatchError } from '../client/download.engine.js';
import { StepStatusError } from '../client/step-client.js';
import { StepConnectionError } from '../client/step-client.connection.js';
import { ExitCode } from '../common/exit-code.js';
import { exitCodeOf, failureJson, OperationError, UsageError } from './cli-errors.js';

const status = (code: number) => new StepStatusError(code, 'message', 'SAVE');

describe('exit codes of step failures', () => {
  it('keeps the documented numbers', () => {
    expect([
      ExitCode.OK,
      ExitCode.FAILED,
      ExitCode.USAGE,
      ExitCode.NOT_FOUND,
      ExitCode.AUTH,
      ExitCode.UNAVAILABLE,
      ExitCode.INTEGRITY,
    ]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('maps STEP statuses: 404 not found, 401/403 auth, 429/500/503 retryable, the rest other failure', () => {
    const codes = Object.fromEntries([404, 401, 403, 429, 500, 503, 402, 408, 413, 507].map((s) => [s, exitCodeOf(status(s))]));
    expect(codes).toEqual({ 404: 3, 401: 4, 403: 4, 429: 5, 500: 5, 503: 5, 402: 1, 408: 1, 413: 1, 507: 1 });
    expect(failureJson(status(503))).toEqual({ error: { message: '503 message', status: 503, retryable: true } });
    expect(failureJson(status(404)).error.retryable).toBe(false);
  });

  it('maps local and connection failures', () => {
    expect(exitCodeOf(new UsageError('bad'))).toBe(ExitCode.USAGE);
    expect(exitCodeOf(new OperationError('md5', ExitCode.INTEGRITY))).toBe(ExitCode.INTEGRITY);
    expect(exitCodeOf(new Md5MismatchError('a', 'b'))).toBe(ExitCode.INTEGRITY);
    expect(exitCodeOf(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe(ExitCode.NOT_FOUND);
    expect(exitCodeOf(Object.assign(new Error('no'), { code: 'EACCES' }))).toBe(ExitCode.AUTH);
    expect(exitCodeOf(new Error('other'))).toBe(ExitCode.FAILED);
    expect(exitCodeOf(new StepConnectionError('refused', 'ECONNREFUSED'))).toBe(ExitCode.UNAVAILABLE);
    expect(exitCodeOf(new StepConnectionError('not STEP', 'EPROTO'))).toBe(ExitCode.FAILED);
  });
});
