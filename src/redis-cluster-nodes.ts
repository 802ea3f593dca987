/**
 * Parses `REDIS_CLUSTER_NODES`: comma-separated `host:port` of a Redis Cluster's nodes (an IPv6
 * host in brackets, `[::1]:7000`). One problem per malformed entry, by value: a node's address is
 * not a secret (credentials go in REDIS_URL).
 */
export function parseClusterNodes(value: string): { nodes: { host: string; port: number }[]; problems: string[] } {
  const nodes: { host: string; port: number }[] = [];
  const problems: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      problems.push(`REDIS_CLUSTER_NODES: each entry must be host:port, such as 10.0.0.5:6379 (got ${JSON.stringify(entry)})`);
      continue;
    }
    nodes.push({ host: match[1] ?? match[2]!, port });
  }
  return { nodes, problems };
}
