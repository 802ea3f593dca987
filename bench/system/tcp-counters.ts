import { readFileSync } from 'node:fs';

/** Kernel TCP counters that show an overflowing accept queue and the SYN retransmits it causes. */
export interface TcpCounters {
  ListenOverflows: number;
  ListenDrops: number;
  TCPSynRetrans: number;
  RetransSegs: number;
}

function table(file: string, prefix: string): Record<string, number> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${prefix}:`));
  const names = lines[0]?.split(/\s+/).slice(1) ?? [];
  const values = lines[1]?.split(/\s+/).slice(1).map(Number) ?? [];
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

/** Machine-wide: other processes' traffic shows up too, which is why the harness reports deltas. */
export function readTcpCounters(): TcpCounters {
  const ext = table('/proc/net/netstat', 'TcpExt');
  const tcp = table('/proc/net/snmp', 'Tcp');
  return {
    ListenOverflows: ext.ListenOverflows ?? 0,
    ListenDrops: ext.ListenDrops ?? 0,
    TCPSynRetrans: ext.TCPSynRetrans ?? 0,
    RetransSegs: tcp.RetransSegs ?? 0,
  };
}

export function diffTcpCounters(a: TcpCounters, b: TcpCounters): TcpCounters {
  return {
    ListenOverflows: b.ListenOverflows - a.ListenOverflows,
    ListenDrops: b.ListenDrops - a.ListenDrops,
    TCPSynRetrans: b.TCPSynRetrans - a.TCPSynRetrans,
    RetransSegs: b.RetransSegs - a.RetransSegs,
  };
}
