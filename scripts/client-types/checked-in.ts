import type { IdemqApp } from '../../src/app-definition.ts';
import { writeClientTypes } from '../../src/client-types/write-client-types.ts';
import { ledger } from '../../examples/ledger/app.ts';
import { fixture } from '../../test/fixtures/app/app.ts';
import { generator } from '../../clients/typescript/scripts/generate-types.ts';

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
  { app: { operations: [] }, out: 'clients/typescript/src/generated/core-types.ts', document: 'clients/typescript/src/generated/core-openapi.json' },
  { app: ledger, out: 'clients/typescript/examples/ledger-paths.ts' },
  { app: fixture, out: 'test/fixtures/app/client-paths.ts' },
];

const ROOT = new URL('../../', import.meta.url).pathname;

/** Rewrites every checked-in types file, each built in-process on the database and Redis of `env`. */
export async function writeCheckedInTypes(env: Record<string, string | undefined>): Promise<string[]> {
  const written: string[] = [];
  for (const { app, out, document } of CHECKED_IN_TYPES) {
    // the forward routes of the environment are no part of any of these
    await writeClientTypes({ out, app, documentOut: document, env: { ...env, FORWARD_ROUTES_FILE: undefined }, cwd: ROOT, generator, command: 'npm run client:types' });
    written.push(out);
  }
  return written;
}
