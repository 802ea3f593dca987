import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import pg from 'pg';

// The naive worker: one transaction per job (lock the request, move the money, store
// the outcome), as many jobs at once as the pool has connections.
const POOL = 10;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL });

const worker = new Worker<{ requestId: string }>(
  'requests',
  async (job) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{
        status: string;
        payload: { fromAccount: string; toAccount: string; amount: number; currency: string };
      }>('select status, payload from idemq.requests where id = $1 for update', [job.data.requestId]);
      const request = rows[0];
      if (request && (request.status === 'queued' || request.status === 'processing')) {
        const p = request.payload;
        await client.query('select id from ledger.accounts where id = any($1::uuid[]) order by id for update', [
          [p.fromAccount, p.toAccount],
        ]);
        const debit = await client.query(
          'update ledger.accounts set balance = balance - $2 where id = $1 and currency = $3 and balance >= $2',
          [p.fromAccount, p.amount, p.currency],
        );
        if (debit.rowCount === 1) {
          await client.query('update ledger.accounts set balance = balance + $2 where id = $1', [p.toAccount, p.amount]);
          const payment = await client.query<{ id: string }>(
            `insert into ledger.payments (tenant_id, request_id, from_account, to_account, amount, currency) values ('bench', $1, $2, $3, $4, $5) returning id`,
            [job.data.requestId, p.fromAccount, p.toAccount, p.amount, p.currency],
          );
          await client.query(
            `update idemq.requests set status = 'succeeded', result = $2, version = version + 1, updated_at = now() where id = $1`,
            [job.data.requestId, JSON.stringify({ paymentId: payment.rows[0]!.id })],
          );
        } else {
          await client.query(
            `update idemq.requests set status = 'failed', error = $2, version = version + 1, updated_at = now() where id = $1`,
            [job.data.requestId, JSON.stringify({ code: 'insufficient_funds', message: 'insufficient funds' })],
          );
        }
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  },
  {
    connection: new Redis(process.env.REDIS_URL!, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null }),
    prefix: process.env.QUEUE_PREFIX,
    concurrency: POOL,
  },
);
worker.on('error', () => undefined);

const close = async () => {
  await worker.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);
