import { describe, expect, it } from 'vitest';
import { isTransientError, TRANSIENT_NODE_CODES, TRANSIENT_SQLSTATES } from '../../src/retry-policy.ts';

/** An error shaped like pg's DatabaseError: a message and a SQLSTATE in `code`. */
const pgError = (code: string, message = 'postgres said no') => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it.each(Object.entries(TRANSIENT_SQLSTATES))('retries SQLSTATE %s (%s)', (code) => {
    expect(isTransientError(pgError(code))).toBe(true);
  });

  it.each([
    ['23505', 'unique_violation'],
    ['23503', 'foreign_key_violation'],
    ['23514', 'check_violation'],
    ['22P02', 'invalid_text_representation'],
    ['42P01', 'undefined_table'],
    ['42703', 'undefined_column'],
    ['25P02', 'in_failed_sql_transaction'],
  ])('does not retry SQLSTATE %s (%s): the request itself is at fault', (code) => {
    expect(isTransientError(pgError(code))).toBe(false);
  });

  it.each([...TRANSIENT_NODE_CODES])('retries the socket error %s', (code) => {
    expect(isTransientError(Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code }))).toBe(true);
  });

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'Connection is closed.',
    'Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.',
    "Stream isn't writeable and enableOfflineQueue options is false",
    'the database system is starting up',
    'the database system is shutting down',
    'the database system is in recovery mode',
    'enqueue timed out after 2000 ms',
  ])('retries the code-less error "%s"', (message) => {
    expect(isTransientError(new Error(message))).toBe(true);
  });

  it('follows the cause chain, as errors rethrown with `cause` carry it', () => {
    const wrapped = new Error('could not mark the request', { cause: new Error('outer', { cause: pgError('40P01') }) });
    expect(isTransientError(wrapped)).toBe(true);
  });

  it('looks into an AggregateError (pg tries every address of a host name)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(isTransientError(new AggregateError([new Error('other'), refused]))).toBe(true);
    expect(isTransientError(new AggregateError([new Error('a'), new Error('b')]))).toBe(false);
  });

  it('gives up on cause chains deeper than five, and on cycles', () => {
    let deep: Error = pgError('40001');
    for (let i = 0; i < 6; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(isTransientError(deep)).toBe(false);
    const cyclic = new Error('a') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(isTransientError(cyclic)).toBe(false);
  });

  it('treats business refusals, plain errors and non-errors as not transient', () => {
    expect(isTransientError(Object.assign(new Error('insufficient funds'), { code: 'insufficient_funds' }))).toBe(false);
    expect(isTransientError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
    expect(isTransientError('ECONNRESET')).toBe(false);
    expect(isTransientError({ code: 40001 })).toBe(false);
  });
});
