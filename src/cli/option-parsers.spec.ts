import { describe, expect, it } from 'vitest';
import { UsageError } from './cli-errors.js';
import { parseInteger, parseServer, parseSize, parseTimeout } from './option-parsers.js';

describe('option parsers', () => {
  it('parses HOST:PORT, HOST and [IPv6]:PORT', () => {
    expect(parseServer('example.org:2000')).toEqual({ host: 'example.org', port: 2000 });
    expect(parseServer('example.org')).toEqual({ host: 'example.org', port: 1379 });
    expect(parseServer('[::1]:1400')).toEqual({ host: '::1', port: 1400 });
    expect(() => parseServer('a:b:c')).toThrow(UsageError);
    expect(() => parseServer('h:0')).toThrow(UsageError);
  });

  it('parses --timeout in seconds, more than 0 and at most a day', () => {
    expect(parseTimeout('1.5')).toBe(1.5);
    expect(parseTimeout('86400')).toBe(86400);
    for (const bad of ['0', '-1', '86401', 'soon', '']) expect(() => parseTimeout(bad)).toThrow(UsageError);
    expect(() => parseTimeout('soon')).toThrow('--timeout must be a number, got "soon"');
    expect(() => parseTimeout('0')).toThrow('--timeout must be between 0 and 86400 seconds');
  });

  it('refuses bad numbers and sizes as usage errors naming the flag and the bounds', () => {
    expect(parseInteger('--n', '7', 1, 10)).toBe(7);
    expect(parseSize('--b', '4MiB', 512, 2 ** 28)).toBe(4 * 2 ** 20);
    expect(() => parseSize('--b', '1GiB', 512, 2 ** 28)).toThrow(/from 512 to/);
    expect(() => parseSize('--b', 'big', 512, 2 ** 28)).toThrow(UsageError);
    expect(() => parseInteger('--n', '11', 1, 10)).toThrow(/from 1 to 10/);
    expect(() => parseInteger('--n', '2.5', 1, 10)).toThrow(UsageError);
  });
});
