import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.ts';
import type { FindOperation } from '../src/operations/registry.ts';
import { type ProcessResult, processRequests } from './process-batch.ts';

export type { ProcessResult } from './process-batch.ts';

/**
 * Runs one request exactly once, however often it is delivered (processRequests with a batch of
 * one). Business failures are stored as the outcome; any other error is thrown (the caller retries).
 */
export async function processRequest(db: Kysely<Database>, requestId: string, find: FindOperation): Promise<ProcessResult> {
  const [result] = await processRequests(db, [requestId], find);
  if (result instanceof Error) throw result;
  return result!;
}
