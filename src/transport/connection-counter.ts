import { isIPv6 } from 'node:net';

/**
 * The group a peer address counts in for the per-address limit. An IPv6 host usually owns a
 * whole /64 (SLAAC, privacy addresses), so counting single addresses would let one host open
 * the limit once per address; its /64 counts as one. IPv4 (also IPv4-mapped IPv6) counts per address.
 */
export function addressGroup(address: string): string {
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const [head, tail = ''] = address.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // A dotted IPv4 tail (::1.2.3.4) lies in the last 32 bits, never in the first 64.
  const hextets = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${hextets
    .slice(0, 4)
    .map((h) => parseInt(h, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Counts the open connections of a server, in all and per address group, from the moment TCP
 * accepts them (a TLS handshake in progress counts too).
 */
export class ConnectionCounter {
  private total = 0;
  private readonly perGroup = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts one connection from `address`: a function to call once it has closed, or null (counting nothing) at a limit. */
  tryCount(address: string): (() => void) | null {
    const group = addressGroup(address);
    const fromGroup = this.perGroup.get(group) ?? 0;
    if (this.total >= this.maxConnections || fromGroup >= this.maxPerAddress) return null;
    this.total++;
    this.perGroup.set(group, fromGroup + 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.total--;
      const left = (this.perGroup.get(group) ?? 1) - 1;
      if (left <= 0) this.perGroup.delete(group);
      else this.perGroup.set(group, left);
    };
  }

  /** Connections counted now. */
  get count(): number {
    return this.total;
  }
}
