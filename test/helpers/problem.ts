import { expect } from 'vitest';

interface InjectedResponse {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
  json(): any;
}

/**
 * Asserts an RFC 9457 answer: the status, problem+json, a `type` ending in `slug`, and none of the
 * headers that belong to an accepted request (an error is never a replay and never says "poll").
 */
export function expectProblem(res: InjectedResponse, status: number, slug: string): any {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.status).toBe(status);
  expect(body.type).toMatch(new RegExp(`/${slug}$`));
  expect(typeof body.title).toBe('string');
  expect(res.headers['idempotent-replayed']).toBeUndefined();
  expect(res.headers.location).toBeUndefined();
  if (status !== 429 && status !== 503) expect(res.headers['retry-after']).toBeUndefined();
  return body;
}
