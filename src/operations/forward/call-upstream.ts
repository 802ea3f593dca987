import { checkJsonShape } from '../../json/json-shape.ts';
import { findUnstorableText } from '../../json/json-text.ts';
import type { ForwardRoute } from './forward-route.ts';

/** What the upstream answered, as idemq stores it. */
export interface UpstreamAnswer {
  status: number;
  /** content-type and the route's keepHeaders, lower-case names; absent ones are left out */
  headers: Record<string, string>;
  /** parsed when the upstream says JSON and it parses, its text otherwise; null when empty */
  body: unknown;
  /** present (true) when the body was longer than the route's maxResponseBytes and was cut */
  truncated?: true;
  /** the raw Retry-After header, if any */
  retryAfter?: string;
}

export type CallOutcome =
  | { kind: 'answer'; answer: UpstreamAnswer }
  /** no full answer within the route's timeoutMs */
  | { kind: 'timeout'; afterMs: number }
  /** no answer at all: refused, reset, dropped, DNS */
  | { kind: 'unreachable'; message: string };

export interface UpstreamCall {
  route: ForwardRoute;
  /** the derived key (upstreamKeyFor) */
  key: string;
  requestId: string;
  tenantId: string;
  body: unknown;
}

/**
 * One POST to the route's upstream with the request's body and the headers idemq adds
 * (Idempotency-Key, Idemq-Request-Id, Idemq-Tenant), bounded by the route's timeoutMs from the
 * first byte sent to the last byte read. Never throws for anything the upstream or the network
 * does: that is a CallOutcome. Redirects are not followed (an answer like any other).
 */
export async function callUpstream(call: UpstreamCall): Promise<CallOutcome> {
  const { route } = call;
  const signal = AbortSignal.timeout(route.timeoutMs);
  try {
    const response = await fetch(route.upstream, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        ...route.headers,
        'content-type': 'application/json',
        'idempotency-key': call.key,
        'idemq-request-id': call.requestId,
        'idemq-tenant': call.tenantId,
      },
      body: JSON.stringify(call.body ?? null),
    });
    const { text, truncated } = await readBounded(response, route.maxResponseBytes);
    const headers: Record<string, string> = {};
    for (const name of ['content-type', ...route.keepHeaders]) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const answer: UpstreamAnswer = { status: response.status, headers, body: parseBody(text, headers['content-type'], truncated) };
    if (truncated) answer.truncated = true;
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null) answer.retryAfter = retryAfter;
    return { kind: 'answer', answer };
  } catch (err) {
    if (signal.aborted) return { kind: 'timeout', afterMs: route.timeoutMs };
    return { kind: 'unreachable', message: describeNetworkError(err) };
  }
}

/** Reads at most `limit` bytes of the body, then stops reading (the rest is never buffered). */
async function readBounded(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      size = limit;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks, size)), truncated };
}

/**
 * Nesting Postgres stores in `jsonb` with room to spare: its parser recurses, and at its default
 * max_stack_depth (2 MB) refuses a document somewhere past 10,000 levels (SQLSTATE 54001).
 */
export const STORABLE_JSON_DEPTH = 1_000;

/**
 * JSON when the upstream says so and it parses whole, text otherwise. JSON Postgres cannot store
 * (a NUL, as JSON escapes or raw; nesting deeper than STORABLE_JSON_DEPTH) never reaches the
 * record: such an answer stays its text, and NUL characters in text become U+FFFD.
 */
function parseBody(text: string, contentType: string | undefined, truncated: boolean): unknown {
  if (text === '') return null;
  const json = !truncated && contentType && /^application\/([\w.+-]+\+)?json\b/i.test(contentType.trim());
  if (json && checkJsonShape(text, { maxDepth: STORABLE_JSON_DEPTH, maxNodes: Infinity }, { iJson: false }) === undefined) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (findUnstorableText(parsed) === undefined) return parsed;
    } catch {
      // not JSON after all: kept as text
    }
  }
  return text.replaceAll('\u0000', '\uFFFD');
}

/** The network failure's own code when it has one (ECONNREFUSED, UND_ERR_SOCKET), for the record and logs. */
function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return `${cause.code}${typeof cause.message === 'string' ? `: ${cause.message}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
