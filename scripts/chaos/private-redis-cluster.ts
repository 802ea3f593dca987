import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './private-services.ts';

/**
 * A private Redis Cluster for tests and the chaos run: 3 masters with a replica each, every node a
 * `redis-server --cluster-enabled yes` child on free loopback ports (bus ports too), data under
 * `dir`, no persistence. A short cluster-node-timeout makes a replica take over a killed master
 * within a few seconds. Nothing here touches the shared Redis.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MASTERS = 3;
const NODE_TIMEOUT_MS = 1_000;

export interface ClusterNode {
  port: number;
  busPort: number;
  child?: ChildProcess;
  exited: Promise<void>;
}

export interface PrivateRedisCluster {
  /** every node, as REDIS_CLUSTER_NODES lists them (any one would do) */
  nodes: { host: string; port: number }[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`, the REDIS_CLUSTER_NODES value */
  nodesEnv: string;
  /** the port of the master that serves `slot` now */
  masterOf(slot: number): Promise<number>;
  /** ports of the masters now */
  masters(): Promise<number[]>;
  /** CLUSTER KEYSLOT of `key` */
  slotOf(key: string): Promise<number>;
  /**
   * SIGKILLs the master on `port`, then waits until a replica serves its slots and the cluster is
   * ok again; returns that replica's port and how long the promotion took from the kill. With
   * `replicaLagMs`, its replica is frozen (SIGSTOP) and its link cut that long before the kill, and
   * thawed after it: what the master acknowledged meanwhile was never replicated and is lost, as
   * asynchronous replication allows.
   */
  killMaster(port: number, opts?: { replicaLagMs?: number; onKilled?: () => void }): Promise<{ promoted: number; promotionMs: number }>;
  /** starts a killed node again with its cluster config: it rejoins as a replica of its old slots' new master */
  restart(port: number): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateRedisCluster(dir: string): Promise<PrivateRedisCluster> {
  mkdirSync(dir, { recursive: true });
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < MASTERS * 2; i++) nodes.push({ port: await freePort(), busPort: await freePort(), exited: Promise.resolve() });
  // one admin connection per node, kept: polling spawns no process, so the harness stays light
  // beside the load it runs under (commands fail at once while a node is down)
  const admins = new Map<number, Redis>();
  const cli = async (port: number, ...args: string[]): Promise<string> => {
    let redis = admins.get(port);
    if (!redis) {
      redis = new Redis({
        host: '127.0.0.1',
        port,
        protocol: 2,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => 100,
      });
      redis.on('error', () => undefined);
      admins.set(port, redis);
      await new Promise<void>((resolve) => redis!.once('ready', resolve).once('error', () => resolve()));
    }
    return String(await redis.call(args[0]!, ...args.slice(1)));
  };

  const start = async (node: ClusterNode) => {
    const nodeDir = join(dir, String(node.port));
    mkdirSync(nodeDir, { recursive: true });
    const log = openSync(join(nodeDir, 'redis.log'), 'a');
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        nodeDir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-port',
        String(node.busPort),
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        // the shards whose master is alive keep serving while one fails over
        '--cluster-require-full-coverage',
        'no',
      ],
      { stdio: ['ignore', log, log] },
    );
    node.child = child;
    node.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; ; i++) {
      if ((await cli(node.port, 'ping').catch(() => '')) === 'PONG') return;
      if (child.exitCode !== null || i > 100) throw new Error(`redis-server on port ${node.port} did not start (see ${nodeDir}/redis.log)`);
      await sleep(100);
    }
  };
  const admin = async <T>(fn: (redis: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const node of nodes) {
      if (!node.child || node.child.exitCode !== null || node.child.signalCode !== null) continue;
      const redis = new Redis({
        host: '127.0.0.1',
        port: node.port,
        protocol: 2,
        maxRetriesPerRequest: 0,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        return await fn(redis);
      } catch (err) {
        last = err;
      } finally {
        redis.disconnect();
      }
    }
    throw new Error('no cluster node answers', { cause: last });
  };
  type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];
  const slots = () => admin(async (r) => (await r.call('cluster', 'slots')) as SlotRange[]);
  const masterOf = async (slot: number) => {
    const range = (await slots()).find(([from, to]) => from <= slot && slot <= to);
    if (!range) throw new Error(`no master serves slot ${slot}`);
    return range[2][1];
  };
  const clusterOk = (port: number) =>
    cli(port, 'cluster', 'info').then(
      (info) => info.includes('cluster_state:ok'),
      () => false,
    );
  /** every slot served, and each master has a replica whose link is up */
  const healthy = async () => {
    const ranges = await slots().catch(() => []);
    const covered = ranges.reduce((n, [from, to]) => n + (to - from + 1), 0);
    if (covered !== 16_384 || !ranges.every((r) => r.length >= 4)) return false;
    const live = nodes.filter((n) => n.child?.exitCode === null && n.child.signalCode === null);
    for (const node of live) {
      const info = await cli(node.port, 'info', 'replication').catch(() => '');
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
    }
    return (await Promise.all(live.map((n) => clusterOk(n.port)))).every(Boolean);
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`redis cluster under ${dir}: ${what} within ${ms} ms`);
      await sleep(100);
    }
  };

  try {
    await Promise.all(nodes.map(start));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 60_000 },
    );
    await waitFor('all slots served with a replica each', healthy);
  } catch (err) {
    for (const node of nodes) node.child?.kill('SIGKILL');
    for (const redis of admins.values()) redis.disconnect();
    throw err;
  }

  const nodeOn = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  return {
    nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    nodesEnv: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    masterOf,
    slotOf: (key) => admin(async (r) => Number(await r.call('cluster', 'keyslot', key))),
    masters: async () => [...new Set((await slots()).map((r) => r[2][1]))],
    async killMaster(port, opts = {}) {
      const node = nodeOn(port);
      const owned = (await slots()).filter((r) => r[2][1] === port).map(([from]) => from);
      if (owned.length === 0) throw new Error(`the node on port ${port} is no master`);
      const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await cli(port, 'info', 'replication'))?.[1]);
      const replica = opts.replicaLagMs ? nodeOn(replicaPort) : undefined;
      if (replica) {
        // frozen, and cut off: what the kernel already holds for it arrives, nothing after
        replica.child!.kill('SIGSTOP');
        await cli(port, 'client', 'kill', 'type', 'replica');
        await sleep(opts.replicaLagMs!);
      }
      const killedAt = Date.now();
      node.child!.kill('SIGKILL');
      await node.exited;
      replica?.child!.kill('SIGCONT');
      opts.onKilled?.();
      let promoted = port;
      await waitFor('a replica took over the killed master', async () => {
        promoted = await masterOf(owned[0]!).catch(() => port);
        if (promoted === port) return false;
        return clusterOk(promoted);
      });
      return { promoted, promotionMs: Date.now() - killedAt };
    },
    async restart(port) {
      await start(nodeOn(port));
      await waitFor('the restarted node rejoined as a replica', healthy);
    },
    async destroy() {
      for (const redis of admins.values()) redis.disconnect();
      for (const node of nodes)
        if (node.child && node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
    },
  };
}
