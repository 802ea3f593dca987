import { randomBytes } from 'node:crypto';
import type { IdemqApp } from '../../src/app-definition.ts';
import { writeClientTypes } from '../../src/client-types/write-client-types.ts';
import { ledger } from '../../examples/ledger/app.ts';
import { fixture } from '../../test/fixtures/app/app.ts';
import { generator } from '../../clients/typescript/scripts/generate-types.ts';
import ensureTemplate from '../../test/helpers/global-setup.ts';
import { createTestDatabase } from '../../test/helpers/postgres.ts';
import { testRedisEnv } from '../../test/helpers/redis-target.ts';

export interface CheckedInTypes {
  app: IdemqApp;
  /** the types, from the repository's root */
  out: string;
  /** the document they are made of, checked in beside them */
  document?: string;
}

/**
 * The types this repository checks in: the core's (no operation: the client's own request and
 * problem types), the ledger's (an example of a service's `paths`) and the test fixture's (the
 * client's README quick start runs on it). A test compares each with what its API serves.
 */
export const CHECKED_IN_TYPES: readonly CheckedInTypes[] = [
  {
    app: { operations: [] },
    out: 'clients/typescript/src/generated/core-types.ts',
    document: 'clients/typescript/src/generated/core-openapi.json',
  },
  { app: ledger, out: 'clients/typescript/examples/ledger-paths.ts' },
  { app: fixture, out: 'test/fixtures/app/client-paths.ts' },
];

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Rewrites every checked-in types file, each built in-process on a scratch database of the test
 * services (cloned from the migrated template that holds every app's tables, dropped afterwards)
 * and their Redis, under a queue prefix of its own.
 */
export async function writeCheckedInTypes(): Promise<string[]> {
  await ensureTemplate();
  const database = await createTestDatabase();
  const env = { DATABASE_URL: database.url, ...testRedisEnv(), QUEUE_PREFIX: `types${randomBytes(4).toString('hex')}` };
  const written: string[] = [];
  try {
    for (const { app, out, document } of CHECKED_IN_TYPES) {
      await writeClientTypes({ out, app, documentOut: document, env, cwd: ROOT, generator, command: 'npm run client:types' });
      written.push(out);
    }
  } finally {
    await database.drop();
  }
  return written;
}
