import { isIP } from 'node:net';

/**
 * Parses `TRUSTED_PROXIES`: comma-separated IPv4/IPv6 addresses and CIDR ranges (`10.0.0.0/8`),
 * the form Fastify's `trustProxy` (proxy-addr) takes. One problem per malformed entry, by value:
 * an address is not a secret.
 */
export function parseTrustedProxies(value: string): { proxies: string[]; problems: string[] } {
  const proxies: string[] = [];
  const problems: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address!);
    const max = family === 6 ? 128 : 32;
    const badBits = bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max);
    if (family === 0 || badBits || rest.length > 0) {
      problems.push(`TRUSTED_PROXIES: each entry must be an IP address or a CIDR range such as 10.0.0.0/8 (got ${JSON.stringify(entry)})`);
      continue;
    }
    proxies.push(entry);
  }
  return { proxies, problems };
}
