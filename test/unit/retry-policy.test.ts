import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  isRetryableStatus,
  isTransientError,
  retryDelayMs,
  TRANSIENT_NODE_CODES,
  TRANSIENT_SQLSTATES,
} from '../../src/retry-policy.ts';

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

describe('isRetryableStatus', () => {
  it('retries 408, 425, 429 and every 5xx; no other status', () => {
    const retried = Array.from({ length: 500 }, (_, i) => i + 100).filter(isRetryableStatus);
    expect(retried).toEqual([408, 425, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)]);
  });
});

describe('backoffMs', () => {
  it('doubles per retry between half and all of its ceiling, capped', () => {
    const terms = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(terms, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(terms, n, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffMs(terms, 1_000, () => 1)).toBe(1_000);
  });

  it("a job's retries: 400 ms doubling to 30 s at most, never under half of that", () => {
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => retryDelayMs(n, () => 1))).toEqual([400, 800, 1_600, 3_200, 25_600, 30_000, 30_000]);
    expect([1, 2, 8].map((n) => retryDelayMs(n, () => 0))).toEqual([200, 400, 15_000]);
  });
});
