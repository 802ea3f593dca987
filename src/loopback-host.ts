import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
// BlockList matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1) against the IPv4 subnet

/**
 * True when a server bound to `host` (HOST, ADMIN_HOST) is reachable from this machine only:
 * `localhost`, 127.0.0.0/8 or ::1 (bracketed or not). Any other name is taken as reachable from
 * the network: what it resolves to is not known here, and a wildcard (0.0.0.0, ::) is everything.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  if (family === 0) return false;
  return LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}
