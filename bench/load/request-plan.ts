/**
 * What the generator sends, as plain data (it crosses process boundaries): payment requests whose
 * body is a pure function of the key's index, so a repeat of a key is byte-for-byte its first request
 * (same fingerprint) and the bare route receives exactly what the service receives.
 */
export interface RequestPlan {
  path: string;
  secret: string;
  /** accounts the payments move money between; at least two */
  accounts: readonly string[];
  currency: string;
  keyPrefix: string;
  /** fresh: a new key on every request; cycle: request i uses key i mod count */
  keys: { mode: 'fresh'; offset?: number } | { mode: 'cycle'; count: number };
  /** more headers, sent on every request (e.g. `prefer: wait=9`) */
  headers?: Record<string, string>;
}

export interface Shard {
  index: number;
  count: number;
}

export interface BuiltRequest {
  key: string;
  /** the whole HTTP/1.1 request, ready to write */
  raw: string;
}

export function keyFor(plan: RequestPlan, keyIndex: number): string {
  return `${plan.keyPrefix}-${keyIndex}`;
}

/** The payment body of a key index: two distinct accounts of the pool and a small amount. */
export function paymentBody(plan: RequestPlan, k: number): string {
  const n = plan.accounts.length;
  const from = plan.accounts[k % n]!;
  const to = plan.accounts[(k + 1 + (Math.floor(k / n) % (n - 1))) % n]!;
  return `{"fromAccount":"${from}","toAccount":"${to}","amount":${1 + (k % 97)},"currency":"${plan.currency}"}`;
}

/** Builds request i of a shard; shards of one plan never share a fresh key. */
export function createRequestSource(plan: RequestPlan, shard: Shard, host: string): (i: number) => BuiltRequest {
  const extra = Object.entries(plan.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const head = `POST ${plan.path} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${plan.secret}\r\ncontent-type: application/json\r\n${extra}`;
  const keys = plan.keys;
  return (i) => {
    const global = i * shard.count + shard.index;
    const k = keys.mode === 'fresh' ? (keys.offset ?? 0) + global : global % keys.count;
    const key = keyFor(plan, k);
    const body = paymentBody(plan, k);
    return { key, raw: `${head}idempotency-key: ${key}\r\ncontent-length: ${body.length}\r\n\r\n${body}` };
  };
}

export function healthRequest(host: string): string {
  return `GET /healthz HTTP/1.1\r\nhost: ${host}\r\n\r\n`;
}
