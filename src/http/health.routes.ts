import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { withTimeout } from '../redis.ts';
import { unavailable, ProblemError } from './problem.ts';

const CHECK_TIMEOUT_MS = 2_000;

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const options = { config: { rateLimit: false }, schema: { tags: ['health'] } };
  app.get('/healthz', { ...options, schema: { ...options.schema, summary: 'The process lives' } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { ...options, schema: { ...options.schema, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(deps.metrics.contentType);
    return deps.metrics.metrics();
  });
  app.get('/readyz', { ...options, schema: { ...options.schema, summary: 'Postgres answers (and Redis, or degraded)' } }, async (request) => {
    const entries = Object.entries(deps.checks);
    const results = await Promise.allSettled(entries.map(([name, check]) => withTimeout(check.run(), CHECK_TIMEOUT_MS, `readiness check ${name}`)));
    const checks: Record<string, 'ok' | 'unavailable'> = {};
    entries.forEach(([name], i) => {
      const result = results[i]!;
      checks[name] = result.status === 'fulfilled' ? 'ok' : 'unavailable';
      if (result.status === 'rejected') request.log.warn({ err: result.reason, check: name }, 'readiness check failed');
    });
    const failingRequired = entries.filter(([name, check]) => check.required && checks[name] !== 'ok').map(([name]) => name);
    if (failingRequired.length > 0) {
      throw new ProblemError({ ...unavailable(`Not ready: ${failingRequired.join(', ')} not answering.`), extra: { checks } });
    }
    return { status: Object.values(checks).every((c) => c === 'ok') ? 'ready' : 'degraded', checks };
  });
}
