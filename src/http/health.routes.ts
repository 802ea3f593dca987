import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { unavailable, ProblemError } from './problem.ts';

const CHECK_TIMEOUT_MS = 2_000;

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const options = { config: { rateLimit: false }, schema: { tags: ['health'] } };
  app.get('/healthz', { ...options, schema: { ...options.schema, summary: 'The process lives' } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { ...options, schema: { ...options.schema, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(deps.metrics.contentType);
    return deps.metrics.metrics();
  });
  app.get('/readyz', { ...options, schema: { ...options.schema, summary: 'Postgres and Redis answer' } }, async () => {
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
