import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';

// The gateway scenario's upstream: POST /work does a fixed small piece of work (SHA-256 of the body,
// chained <rounds> times) and answers 201 with the digest; it dedupes by Idempotency-Key, as an
// upstream behind idemq should, so a key asked again gets its first answer. GET /healthz for readiness.
// Usage: node bench/gateway/upstream-server.ts <port> <rounds>   (127.0.0.1)

const WORK_ROUNDS = Number(process.argv[3] ?? 200);
const answers = new LRUCache<string, string>({ max: 200_000 });

function work(body: Buffer): string {
  let digest = body;
  for (let i = 0; i < WORK_ROUNDS; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, '{"status":"ok"}');
  if (req.method !== 'POST' || req.url !== '/work') return send(res, 404, '{"error":"not found"}');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') return send(res, 400, '{"error":"Idempotency-Key required"}');
  const seen = answers.get(key);
  if (seen) return send(res, 201, seen, { 'idempotent-replayed': 'true' });
  const answer = JSON.stringify({ digest: work(Buffer.concat(chunks)) });
  answers.set(key, answer);
  send(res, 201, answer);
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch((err: Error) => send(res, 500, JSON.stringify({ error: err.message })));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
