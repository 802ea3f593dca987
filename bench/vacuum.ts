import pg from 'pg';

/** Tables the service churns: every request updates its row twice, every payment two accounts, every event passes the outbox. */
const CHURNED = ['ledger.accounts', 'idemq.outbox', 'idemq.requests'];
const EVERY_MS = 10_000;

/**
 * Production Postgres runs autovacuum; some CI images (this one) turn it off, and then the hot
 * rows bloat within minutes and every statement slows down, which measures the machine's
 * configuration rather than the service. When autovacuum is off, this stands in for it: a plain
 * VACUUM (ANALYZE) of the churned tables every 10 s, on its own connection, for the whole run.
 * Returns what it did, for the results, and a stop function.
 */
export async function emulateAutovacuum(
  databaseUrl: string,
  log: (line: string) => void,
): Promise<{ autovacuum: string; stop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ autovacuum: string }>('show autovacuum');
  if (rows[0]?.autovacuum === 'on') {
    await client.end();
    return { autovacuum: 'on', stop: async () => {} };
  }
  log(`autovacuum is off on this server: running VACUUM (ANALYZE) ${CHURNED.join(', ')} every ${EVERY_MS / 1000} s instead`);
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = client.query(`VACUUM (ANALYZE) ${CHURNED.join(', ')}`).catch((err: Error) => log(`vacuum failed: ${err.message}`));
  }, EVERY_MS);
  return {
    autovacuum: `off on the server; emulated by VACUUM (ANALYZE) every ${EVERY_MS / 1000} s`,
    async stop() {
      clearInterval(timer);
      await running;
      await client.end();
    },
  };
}
