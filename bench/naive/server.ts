import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import pg from 'pg';

// The naive path, for comparison in the same run: one INSERT ... ON CONFLICT and one
// BullMQ add() per request, awaited before the 202. No batching, no single flight, no cache; the
// same tables as the service (its own database), the same requests from the same generator.
const port = Number(process.argv[2] ?? 0);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const queue = new Queue('requests', {
  connection: new Redis(process.env.REDIS_URL!, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null }),
  prefix: process.env.QUEUE_PREFIX,
});
const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/v1/payments', async (request, reply) => {
  const key = String(request.headers['idempotency-key']);
  const fingerprint = createHash('sha256').update(JSON.stringify(request.body)).digest('hex');
  const inserted = await pool.query<{ id: string; status: string }>(
    `insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, retention_seconds)
     values ('bench', $1, $2, 'payments.create', $3, 86400)
     on conflict (tenant_id, idempotency_key) do nothing returning id, status`,
    [key, fingerprint, JSON.stringify(request.body)],
  );
  let row = inserted.rows[0];
  if (row) await queue.add('process', { requestId: row.id }, { jobId: `req-${row.id}`, removeOnComplete: true });
  else
    row = (
      await pool.query<{ id: string; status: string }>(
        `select id, status from idemq.requests where tenant_id = 'bench' and idempotency_key = $1`,
        [key],
      )
    ).rows[0]!;
  reply.code(202);
  return { id: row.id, status: row.status };
});

const close = async () => {
  await app.close();
  await queue.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);
await app.listen({ host: '127.0.0.1', port });
