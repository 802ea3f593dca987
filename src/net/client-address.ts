import { isIPv4, isIPv6 } from 'node:net';

/** An address without its IPv6 zone (`%eth0`), and an IPv4-mapped one (`::ffff:192.0.2.1`) as the IPv4 address it is. */
export function plainAddress(ip: string): string {
  const address = ip.split('%')[0]!;
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1] ?? address;
}

/**
 * The key a client address is limited under: an IPv4 address as it is (also when IPv4-mapped,
 * `::ffff:192.0.2.1`), an IPv6 address by its /64, the block one host or one customer line gets,
 * so rotating through it buys nothing.
 */
export function addressKey(ip: string): string {
  const address = plainAddress(ip);
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const after = tail === '' ? [] : tail.split(':');
    // an IPv4 tail (`::1.2.3.4`) holds two groups
    const width = after.length + (after.at(-1)?.includes('.') ? 1 : 0);
    groups.push(...Array<string>(8 - groups.length - width).fill('0'), ...after);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
