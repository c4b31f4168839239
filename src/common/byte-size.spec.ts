import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    ['0', 0],
    ['20480', 20480],
    ['4MiB', 4 * 1024 * 1024],
    ['4 mib', 4 * 1024 * 1024],
    ['64GiB', 64 * 1024 ** 3],
    ['1.5K', 1536],
    ['2M', 2 * 1024 * 1024],
    ['500MB', 500_000_000],
    ['1kB', 1000],
    ['7B', 7],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(['', 'big', '-1', '4XB', '0.5B', '1e3', 'MiB', '99999999999TiB'])('refuses %j', (text) => {
    expect(parseByteSize(text)).toBeNull();
  });
});
