import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../src/config.ts';
import { limitNodeServer, nodeServerOptions } from '../src/net/node-server-limits.ts';
import { PROBLEM_BASE, PROBLEM_CONTENT_TYPE } from '../src/problem-base.ts';

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** the API's socket limits: deadlines, idle timeout, total and per-address caps */
  http: Config['http'];
  /** `Authorization: Bearer <token>` every scrape must carry (ADMIN_TOKEN) */
  token: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Serves `registry` at GET /metrics on host:port, behind the bearer token (401 problem+json
 * without it) and the API's socket limits. Resolves once listening.
 */
export async function startMetricsServer(registry: Registry, options: MetricsServerOptions): Promise<{ close(): Promise<void> }> {
  const expected = digest(options.token);
  const server = createServer(nodeServerOptions(options.http), (req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !timingSafeEqual(digest(bearer), expected)) {
      unauthorized(res, req.headers.authorization !== undefined);
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
    );
  });
  limitNodeServer(server, options.http);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function unauthorized(res: ServerResponse, sent: boolean): void {
  res.writeHead(401, { 'content-type': PROBLEM_CONTENT_TYPE, 'www-authenticate': 'Bearer realm="idemq-worker"' }).end(
    JSON.stringify({
      type: `${PROBLEM_BASE}unauthorized`,
      title: 'Unauthorized',
      status: 401,
      detail: sent ? 'The admin token is not valid.' : 'Send `Authorization: Bearer <admin token>` (ADMIN_TOKEN).',
      instance: '/metrics',
    }),
  );
}
