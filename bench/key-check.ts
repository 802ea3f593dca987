import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { pino } from 'pino';
import { ledger } from '../examples/ledger/app.ts';
import { buildApp } from '../src/app.ts';
import { appMigrations } from '../src/app-definition.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { createAuthenticator } from '../src/http/auth.ts';
import { createApiDeps } from '../src/deps.ts';
import { createApiKey } from '../src/keys/api-key.repository.ts';
import { createRegistry } from '../src/operations/registry.ts';
import { processRequest } from '../workers/process-request.ts';
import { databaseUrl, dropDatabase, recreateDatabase } from './database.ts';

// `npm exec -- node bench/key-check.ts`: the cost of checking a stored API key on the replay path.
// One API on a real socket replays one finished request over keep-alive connections, in
// alternating rounds with a key of API_KEYS and a stored key of the same tenant; a proxy in front
// of Postgres counts what the API sends there during each round. Then the check alone, in process.
const SERVER = process.env.BENCH_PG_SERVER ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAME = 'idemq_bench_key_check';
const ROUNDS = 6;
const ROUND_MS = 3_000;
const CONNECTIONS = 16;
const ENV_SECRET = 'sk_bench_env_0123456789';

const url = await recreateDatabase(SERVER, NAME);
const { db } = createDb({ connectionString: url, poolSize: 2 });
const { secret: storedSecret } = await createApiKey(db, 'bench', ['read', 'write']);

let sent = 0;
const target = new URL(SERVER);
const proxy = createServer((client) => {
  const upstream = connect(Number(target.port || 5432), target.hostname);
  client.on('data', () => sent++);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
const viaProxy = new URL(databaseUrl(SERVER, NAME));
viaProxy.hostname = '127.0.0.1';
viaProxy.port = String((proxy.address() as { port: number }).port);

const config = loadConfig({
  DATABASE_URL: viaProxy.toString(),
  API_KEYS: `bench:${ENV_SECRET}`,
  RATE_LIMIT_PER_MINUTE: '100000000',
  QUEUE_PREFIX: 'benchkeys',
});
const { deps, close } = await createApiDeps(config, pino({ level: 'warn' }), appMigrations(ledger));
const app = await buildApp(deps, { operations: ledger.operations });
await app.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.address() as { port: number }).port;
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const body = JSON.stringify({ currency: 'USD', openingBalance: 1 });

const post = (secret: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      {
        agent,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/v1/accounts',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'bench-replay' },
      },
      (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
    );
    req.on('error', reject);
    req.end(body);
  });

const first = await post(ENV_SECRET);
const { rows } = await db
  .selectFrom('idemq.requests')
  .select('id')
  .execute()
  .then((r) => ({ rows: r }));
await processRequest(db, rows[0]!.id, createRegistry(ledger.operations).find);
if (first !== 202 || (await post(storedSecret)) !== 202) throw new Error('the first submit or a replay was not accepted');

async function round(secret: string): Promise<{ perSecond: number; pgMessagesPerReplay: number }> {
  const until = Date.now() + ROUND_MS;
  const before = sent;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const status = await post(secret);
        if (status !== 202) throw new Error(`a replay answered ${status}`);
        done++;
      }
    }),
  );
  return { perSecond: done / (ROUND_MS / 1000), pgMessagesPerReplay: (sent - before) / done };
}

const results: Record<'API_KEYS' | 'stored', { perSecond: number; pgMessagesPerReplay: number }[]> = { API_KEYS: [], stored: [] };
await round(ENV_SECRET); // warm-up
for (let i = 0; i < ROUNDS; i++) {
  results.API_KEYS.push(await round(ENV_SECRET));
  results.stored.push(await round(storedSecret));
}
for (const [kind, rounds] of Object.entries(results)) {
  const rates = rounds.map((r) => Math.round(r.perSecond));
  const messages = rounds.reduce((n, r) => n + r.pgMessagesPerReplay, 0) / rounds.length;
  console.log(
    `${kind.padEnd(8)} replays/s per round: ${rates.join(', ')}; median ${rates.sort((a, b) => a - b)[rates.length >> 1]}; Postgres messages per replay: ${messages.toFixed(4)}`,
  );
}

// the check alone, in process: what each request pays for it, the digest included
const authenticator = createAuthenticator(config.apiKeys, deps.keys);
const CHECKS = 500_000;
for (const [kind, secret] of [
  ['API_KEYS', ENV_SECRET],
  ['stored', storedSecret],
  ['API_KEYS', ENV_SECRET],
  ['stored', storedSecret],
] as const) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CHECKS; i++) if (!authenticator.grantOf(secret)) throw new Error('the key was refused');
  console.log(`${kind.padEnd(8)} key check: ${(Number(process.hrtime.bigint() - started) / CHECKS / 1000).toFixed(2)} µs`);
}

agent.destroy();
await app.close();
await close();
await db.destroy();
proxy.close();
await dropDatabase(SERVER, NAME);
