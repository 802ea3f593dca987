import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AppDeps } from './api-deps.ts';
import { withTimeout } from '../with-timeout.ts';
import { HEADER, jsonResponse, problemResponse } from './openapi-responses.ts';
import { unavailable, ProblemError } from './problem.ts';

const CHECK_TIMEOUT_MS = 2_000;

// open to more fields: a response schema also serializes, and would drop any it does not name
const Status = (status: string) => Type.Object({ status: Type.Literal(status) }, { additionalProperties: true });
const RATE_LIMITED = { 429: problemResponse('Too many calls from this address (`…/rate-limited`).', HEADER.rateLimited) };
const HEALTHZ = { response: { 200: jsonResponse('The process lives.', Status('ok')), ...RATE_LIMITED } };
const Checks = Type.Record(
  Type.String(),
  Type.String({ description: '`ok`, `unavailable`, or what is wrong with a service that answers (e.g. `replica`: `is the primary`)' }),
  { description: 'each dependency by name' },
);
const READYZ = {
  response: {
    200: jsonResponse(
      'Postgres answers, so requests are accepted: `ready`, or `degraded` while Redis is away (requests are still recorded; their jobs go out once it is back) or the read replica is (status reads go to the primary).',
      Type.Object(
        { status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')]), checks: Checks },
        { additionalProperties: true },
      ),
    ),
    503: problemResponse("Postgres does not answer (`…/service-unavailable`); `checks` gives each dependency's state.", HEADER.retryAfter),
    ...RATE_LIMITED,
  },
};

/** What the probes use: the readiness checks, and whether the server drains. */
export type HealthRouteDeps = Pick<AppDeps, 'checks' | 'draining'>;

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteDeps> = async (app, deps) => {
  // both count against the caller's address budget, like every route: a prober's few calls a minute fit it
  const options = { schema: { tags: ['health'] } };
  app.get('/healthz', { ...options, schema: { ...options.schema, ...HEALTHZ, summary: 'The process lives' } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { ...options, schema: { ...options.schema, ...READYZ, summary: 'Postgres answers (and Redis, or degraded)' } },
    async (request) => {
      if (deps.draining?.aborted)
        throw new ProblemError(unavailable('Not ready: this instance is shutting down; it still answers what reaches it.'));
      const entries = Object.entries(deps.checks);
      const results = await Promise.allSettled(
        entries.map(([name, check]) => withTimeout(check.run(), CHECK_TIMEOUT_MS, `readiness check ${name}`)),
      );
      const checks: Record<string, string> = {};
      entries.forEach(([name], i) => {
        const result = results[i]!;
        checks[name] = result.status === 'rejected' ? 'unavailable' : (result.value ?? 'ok');
        if (result.status === 'rejected') request.log.warn({ err: result.reason, check: name }, 'readiness check failed');
        else if (result.value) request.log.warn({ check: name, state: result.value }, 'readiness check: answers, but set up wrong');
      });
      const failingRequired = entries.filter(([name, check]) => check.required && checks[name] !== 'ok').map(([name]) => name);
      if (failingRequired.length > 0) {
        throw new ProblemError({ ...unavailable(`Not ready: ${failingRequired.join(', ')} not answering.`), extra: { checks } });
      }
      return { status: Object.values(checks).every((c) => c === 'ok') ? 'ready' : 'degraded', checks };
    },
  );
};
