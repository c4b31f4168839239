import { describe, expect, it } from 'vitest';
import { addressGroup, ConnectionCounter } from './connection-counter.js';

describe('addressGroup', () => {
  it('groups IPv6 peers by their /64, whatever the notation', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(addressGroup('2001:db8:1:2::1'));
  });

  it('keeps IPv4 (also IPv4-mapped) per address', () => {
    expect(addressGroup('127.0.0.1')).toBe('127.0.0.1');
    expect(addressGroup('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressGroup('unknown')).toBe('unknown');
  });
});

describe('ConnectionCounter', () => {
  it('refuses past the per-group and total limits and counts each release once', () => {
    const counter = new ConnectionCounter(3, 2);
    const a = counter.tryCount('2001:db8::1');
    expect(a).not.toBeNull();
    expect(counter.tryCount('2001:db8::2')).not.toBeNull();
    // A third address of the same /64 is over the per-address limit.
    expect(counter.tryCount('2001:db8::3')).toBeNull();
    expect(counter.tryCount('127.0.0.1')).not.toBeNull();
    expect(counter.tryCount('127.0.0.2')).toBeNull();
    a!();
    a!();
    expect(counter.count).toBe(2);
    expect(counter.tryCount('2001:db8::3')).not.toBeNull();
  });
});
