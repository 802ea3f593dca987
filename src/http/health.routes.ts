import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AppDeps } from '../app.ts';
import { HEADER, jsonResponse, problemResponse } from './openapi-responses.ts';
import { unavailable, ProblemError } from './problem.ts';

const CHECK_TIMEOUT_MS = 2_000;

// open to more fields: a response schema also serializes, and would drop any it does not name
const Status = (status: string) => Type.Object({ status: Type.Literal(status) }, { additionalProperties: true });
const HEALTHZ = { response: { 200: jsonResponse('The process lives.', Status('ok')) } };
const METRICS = { response: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: Type.String() } } } } };
const READYZ = {
  response: {
    200: jsonResponse('Postgres and Redis answer.', Status('ready')),
    503: problemResponse('A backing service does not answer (`…/service-unavailable`); `detail` names it.', HEADER.retryAfter),
  },
};

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const options = { config: { rateLimit: false }, schema: { tags: ['health'] } };
  app.get('/healthz', { ...options, schema: { ...options.schema, ...HEALTHZ, summary: 'The process lives' } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { ...options, schema: { ...options.schema, ...METRICS, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(deps.metrics.contentType);
    return deps.metrics.metrics();
  });
  app.get('/readyz', { ...options, schema: { ...options.schema, ...READYZ, summary: 'Postgres and Redis answer' } }, async () => {
    const results = await Promise.allSettled(
      Object.entries(deps.checks).map(async ([name, check]) => {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref())]);
        return name;
      }),
    );
    const failing = Object.keys(deps.checks).filter((_, i) => results[i]!.status === 'rejected');
    if (failing.length > 0) throw new ProblemError(unavailable(`Not ready: ${failing.join(', ')} not answering.`));
    return { status: 'ready' };
  });
}
