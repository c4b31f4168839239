import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOY_HAPROXY_CFG, renderHaproxyConfig } from './haproxy.js';

const shipped = readFileSync(DEPLOY_HAPROXY_CFG, 'utf8');

describe('deploy/haproxy.cfg rendered for a test', () => {
  it('binds the loopback test port and lists one checked server per instance, keeping the rest of the file', () => {
    const rendered = renderHaproxyConfig(shipped, 40123, [
      { stepPort: 41001, httpPort: 42001 },
      { stepPort: 41002, httpPort: 42002 },
    ]);
    const lines = rendered.split('\n').map((line) => line.trim());
    expect(lines).toContain('bind 127.0.0.1:40123');
    expect(lines.filter((line) => line.startsWith('server '))).toEqual([
      'server stepd-1 127.0.0.1:41001 check port 42001',
      'server stepd-2 127.0.0.1:41002 check port 42002',
    ]);
    for (const kept of [
      'mode tcp',
      'balance roundrobin',
      'option httpchk GET /health',
      'http-check expect status 200',
      'option redispatch',
    ]) {
      expect(lines).toContain(kept);
    }
    expect(lines.filter((line) => /^(user|group|log \/)/.test(line))).toEqual([]);
  });

  it('the shipped file is the N-instance layout the docs describe: stepd-i on 1379+i, checked on 8080+i', () => {
    const servers = [...shipped.matchAll(/^\s*server stepd-(\d+) 127\.0\.0\.1:(\d+) check port (\d+)$/gm)];
    expect(servers.length).toBeGreaterThanOrEqual(2);
    for (const [, i, stepPort, httpPort] of servers) {
      expect([Number(stepPort), Number(httpPort)]).toEqual([1379 + Number(i), 8080 + Number(i)]);
    }
  });

  it('refuses a template without the lines it replaces', () => {
    expect(() => renderHaproxyConfig('defaults\n    mode tcp\n', 1, [])).toThrow(/bind :1379/);
  });
});
