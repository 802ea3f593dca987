import Fastify from 'fastify';

// The bare route every figure is divided by: Fastify parses the same JSON request the service gets,
// reads its Idempotency-Key and answers 202 with a small JSON body. No I/O, no validation, no logger.
const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/v1/payments', async (request, reply) => {
  const key = request.headers['idempotency-key'];
  reply.code(202);
  return { id: typeof key === 'string' ? key : null, status: 'queued' };
});

const close = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());

await app.listen({ host: '127.0.0.1', port });
