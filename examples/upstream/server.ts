import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

// A tiny orders service to put idemq in front of (docs/gateway.md).
// It does what idemq asks of an upstream: it dedupes by Idempotency-Key, so the order a key
// created is answered again, never placed twice. Orders live in memory: a restart forgets them.
// Usage: node examples/upstream/server.ts [port] [host]   (default 4000, on 127.0.0.1; docker-compose.yml
// gives 0.0.0.0, for the gateway's containers)

const API_KEY = 'upstream-demo-key';
const MAX_BODY_BYTES = 64 * 1024;

interface Order {
  orderId: string;
  sku: string;
  quantity: number;
  tenant: string | undefined;
  createdAt: string;
}

const orders: Order[] = [];
/** the answer each key got, so a retry of the key gets it again */
const byKey = new Map<string, { status: number; body: unknown }>();

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function placeOrder(body: unknown, tenant: string | undefined): { status: number; body: unknown } {
  const { sku, quantity } = (body ?? {}) as { sku?: unknown; quantity?: unknown };
  if (typeof sku !== 'string' || sku === '' || !Number.isInteger(quantity) || (quantity as number) < 1) {
    return { status: 422, body: { error: 'an order needs a sku and a quantity of at least 1' } };
  }
  const order: Order = { orderId: randomUUID(), sku, quantity: quantity as number, tenant, createdAt: new Date().toISOString() };
  orders.push(order);
  return { status: 201, body: order };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url?.split('?')[0];
  if (req.method === 'GET' && path === '/orders') return send(res, 200, orders);
  if (req.method !== 'POST' || path !== '/orders') return send(res, 404, { error: 'not found' });
  if (req.headers['x-api-key'] !== API_KEY) return send(res, 401, { error: 'wrong or missing x-api-key' });
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') return send(res, 400, { error: 'Idempotency-Key required' });
  const seen = byKey.get(key);
  if (seen) return send(res, seen.status, seen.body, { 'idempotent-replayed': 'true' });
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    return send(res, 400, { error: 'the body must be JSON of at most 64 KiB' });
  }
  const tenant = typeof req.headers['idemq-tenant'] === 'string' ? req.headers['idemq-tenant'] : undefined;
  const answer = placeOrder(body, tenant);
  byKey.set(key, answer);
  const order = answer.body as Partial<Order>;
  send(res, answer.status, answer.body, order.orderId ? { location: `/orders/${order.orderId}` } : {});
}

const port = Number(process.argv[2] ?? 4000);
const host = process.argv[3] ?? '127.0.0.1';
const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => send(res, 500, { error: err.message }));
});
server.listen(port, host, () => {
  const address = server.address();
  console.log(`orders upstream listening on http://${host}:${typeof address === 'object' && address ? address.port : port}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
