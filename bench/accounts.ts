import type { Target } from './load/connection-pool.ts';

/** Opening balance of every account: payments of at most 97 never run one dry. */
export const OPENING_BALANCE = 1_000_000_000_000;

/**
 * Opens the account pool through the service's own API (an idempotent `accounts.create` each, held
 * with `Prefer: wait` until the worker has run it), so set-up also proves the pipeline works.
 */
export async function createAccounts(target: Target, secret: string, count: number, keyPrefix: string): Promise<string[]> {
  const ids = new Array<string>(count);
  let next = 0;
  const one = async (i: number) => {
    const res = await fetch(`http://${target.host}:${target.port}/v1/accounts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${secret}`,
        'content-type': 'application/json',
        'idempotency-key': `${keyPrefix}-account-${i}`,
        prefer: 'wait=20',
      },
      body: JSON.stringify({ currency: 'USD', openingBalance: OPENING_BALANCE, name: `bench ${i}` }),
    });
    const body = (await res.json()) as { status?: string; result?: { accountId?: string }; detail?: string };
    if (res.status !== 200 || body.status !== 'succeeded' || !body.result?.accountId) {
      throw new Error(`creating bench account ${i} answered ${res.status} ${JSON.stringify(body)}`);
    }
    ids[i] = body.result.accountId;
  };
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return ids;
}
