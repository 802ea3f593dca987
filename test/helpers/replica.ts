import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PrivatePrimaryWithStandby, standbyCaughtUp, startPrimaryWithStandby } from '../infra/private-replica.ts';
import { migrateTemplate } from './global-setup.ts';
import { adminQuery, createTestDatabase, databaseUrl } from './postgres.ts';

const TEMPLATE = 'idemq_template';

/** A database on a private primary and the URL of its copy on the standby. */
export interface ReplicaDatabase {
  url: string;
  readUrl: string;
  name: string;
  drop(): Promise<void>;
}

export interface ReplicaServers extends PrivatePrimaryWithStandby {
  /** the primary's `postgres` database: create and drop databases there */
  primaryServer: string;
  /** a database cloned from the migrated template on the primary, once the standby has it too */
  createDatabase(): Promise<ReplicaDatabase>;
}

/**
 * A private primary and its streaming standby (test/infra/private-replica.ts) in a temporary
 * folder, with a migrated template database on the primary, as createTestDatabase has on the
 * tests' server. `destroy` stops both and removes the folder.
 */
export async function startReplicaServers(): Promise<ReplicaServers> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-replica-'));
  const pair = await startPrimaryWithStandby(dir, 'postgres').catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const primaryServer = pair.primary.url;
  const destroy = async () => {
    await pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await adminQuery(`CREATE DATABASE ${TEMPLATE}`, [], primaryServer);
    await migrateTemplate(databaseUrl(TEMPLATE, primaryServer));
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    ...pair,
    primaryServer,
    destroy,
    createDatabase: () => createReplicaDatabase({ primaryServer, standbyServer: pair.standby.urlOf('postgres') }),
  };
}

/**
 * A database cloned from the migrated template on the primary of `servers` (each its `postgres`
 * database, as startReplicaServers leaves them), once the standby has it too.
 */
export async function createReplicaDatabase(servers: { primaryServer: string; standbyServer: string }): Promise<ReplicaDatabase> {
  const database = await createTestDatabase(servers.primaryServer, TEMPLATE);
  await standbyCaughtUp(servers.standbyServer, servers.primaryServer);
  return { ...database, readUrl: databaseUrl(database.name, servers.standbyServer) };
}
