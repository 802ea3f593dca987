import type { TestProject } from 'vitest/node';
import { startReplicaServers } from '../helpers/replica.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the read-replica project's private primary (its `postgres` database) and standby (same) */
    replicaServers: { primaryServer: string; standbyServer: string };
  }
}

/**
 * Once for the read-replica project: a private primary with a streaming standby and a migrated
 * template on the primary, shared by every file of the project (each context clones its own
 * database); stopped after the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startReplicaServers();
  project.provide('replicaServers', { primaryServer: servers.primaryServer, standbyServer: servers.standby.urlOf('postgres') });
  return () => servers.destroy();
}
