import type { Kysely } from 'kysely';
import { readDeploymentId } from '../db/deployment.repository.ts';
import { type RedisClient, waitUntilReady } from '../redis.ts';
import { StartupError } from '../startup-error.ts';
import { withTimeout } from '../with-timeout.ts';

/** The Redis key that names the deployment owning QUEUE_PREFIX's queues (its database's identity). */
export function ownerKey(queuePrefix: string): string {
  return `${queuePrefix}:idemq:deployment`;
}

export type OwnerCheck = { kind: 'ours' } | { kind: 'foreign'; owner: string };

/**
 * Claims QUEUE_PREFIX for `deploymentId` if no deployment has (SET NX; the key never expires, so
 * it survives every process of the deployment stopping), then reads who owns it. Safe to call
 * from any number of processes at once, and again after Redis lost its data (the first caller
 * claims it back). Two round trips; rejects when Redis does not answer.
 */
export async function claimQueuePrefix(redis: RedisClient, queuePrefix: string, deploymentId: string): Promise<OwnerCheck> {
  const key = ownerKey(queuePrefix);
  await redis.set(key, deploymentId, 'NX');
  const owner = await redis.get(key);
  return owner === null || owner === deploymentId ? { kind: 'ours' } : { kind: 'foreign', owner };
}

/** The problem line for a prefix another deployment owns: what happened and the two ways out. */
export function foreignOwnerProblem(queuePrefix: string, owner: string, deploymentId: string): string {
  return (
    `QUEUE_PREFIX: "${queuePrefix}" on this Redis belongs to another deployment (database identity ${owner}; this database's is ${deploymentId}), ` +
    `whose workers would take this one's jobs: give each deployment on one Redis a QUEUE_PREFIX of its own (e.g. ${queuePrefix}-staging), ` +
    `or, if that deployment is gone for good, delete its claim (\`redis-cli del ${ownerKey(queuePrefix)}\`)`
  );
}

/** How long a start waits for Redis to claim the prefix; a Redis that is away is checked again later. */
const CLAIM_WAIT_MS = 2_000;

/**
 * At a process's start: reads the deployment's identity and claims QUEUE_PREFIX for it. Throws a
 * StartupError when another deployment owns the prefix; a Redis that does not answer within 2 s
 * is reported to `onUnreachable` and not waited for (the API runs without Redis, and the worker's
 * watch claims later). Returns the deployment's identity.
 */
export async function claimQueuePrefixAtStart(
  db: Kysely<any>,
  redis: RedisClient,
  queuePrefix: string,
  onUnreachable: (err: unknown) => void,
): Promise<string> {
  const deploymentId = await readDeploymentId(db);
  let check: OwnerCheck;
  try {
    if (!(await waitUntilReady(redis, CLAIM_WAIT_MS))) throw new Error(`Redis not ready within ${CLAIM_WAIT_MS} ms`);
    check = await withTimeout(claimQueuePrefix(redis, queuePrefix, deploymentId), CLAIM_WAIT_MS, 'queue prefix claim');
  } catch (err) {
    onUnreachable(err);
    return deploymentId;
  }
  if (check.kind === 'foreign') throw new StartupError([foreignOwnerProblem(queuePrefix, check.owner, deploymentId)]);
  return deploymentId;
}
