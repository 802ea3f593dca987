const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number) => ms * (0.5 + Math.random());

const REQUEST_TIMEOUT_MS = 10_000;

export interface PaymentBody {
  fromAccount: string;
  toAccount: string;
  amount: number;
  currency: string;
}

/** One logical payment: one Idempotency-Key, sent as often as the run likes. */
export interface PaymentPlan {
  key: string;
  body: PaymentBody;
  /** asks for more than all the money there is: must end `failed` with insufficient_funds */
  doomed: boolean;
  /** every request id a 2xx answer for this key named; more than one is a violation */
  ids: Set<string>;
}

export interface LoadStats {
  /** HTTP requests sent */
  sent: number;
  /** 2xx answers */
  accepted: number;
  /** sends of a key beyond its first: concurrent copies and later replays */
  duplicates: number;
  /** sends repeated after a 503, a connection error or a timeout */
  retried: number;
  unavailable: number;
  connectionErrors: number;
  /** answers the contract rules out: 500s, 503 without Retry-After, 4xx to a valid request */
  anomalies: string[];
}

export function newLoadStats(): LoadStats {
  return { sent: 0, accepted: 0, duplicates: 0, retried: 0, unavailable: 0, connectionErrors: 0, anomalies: [] };
}

export interface ApiClient {
  baseUrl: string;
  secret: string;
}

/** a 2xx answer: the request's view (id, status, result …) */
export type Answer = { id: string; [field: string]: unknown };

type Attempt = { kind: 'accepted'; id: string; body: Answer } | { kind: 'retry'; waitMs: number } | { kind: 'refused' };

async function postOnce(
  api: ApiClient,
  path: string,
  body: unknown,
  key: string,
  stats: LoadStats,
  headers: Record<string, string>,
): Promise<Attempt> {
  stats.sent++;
  let res: Response;
  try {
    res = await fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.secret}`, 'idempotency-key': key, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    // refused, reset or timed out: the request may or may not be recorded; the same key settles it
    stats.connectionErrors++;
    return { kind: 'retry', waitMs: jitter(500) };
  }
  const text = await res.text().catch(() => '');
  if (res.status === 200 || res.status === 202) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch {
      json = {};
    }
    if (typeof json.id !== 'string') {
      stats.anomalies.push(`HTTP ${res.status} without a request id for ${key}: ${text.slice(0, 200)}`);
      return { kind: 'retry', waitMs: jitter(500) };
    }
    stats.accepted++;
    return { kind: 'accepted', id: json.id, body: { ...json, id: json.id } };
  }
  if (res.status === 503 || res.status === 429) {
    stats.unavailable++;
    const after = Number(res.headers.get('retry-after'));
    if (res.status === 503 && !(after > 0)) stats.anomalies.push(`503 without Retry-After for ${key}`);
    return { kind: 'retry', waitMs: jitter(Math.min(after > 0 ? after * 1000 : 1000, 2_000)) };
  }
  stats.anomalies.push(`HTTP ${res.status} for ${key}: ${text.slice(0, 200)}`);
  // a 5xx other than 503 breaks the contract but says nothing of the record: the key settles it
  return res.status >= 500 ? { kind: 'retry', waitMs: jitter(500) } : { kind: 'refused' };
}

/**
 * Sends one key until an answer names its request (2xx), treating 503 and connection errors as
 * "retry the same key later". Returns the answer's body, or undefined if refused or past `deadline`.
 */
export async function submitUntilAccepted(
  api: ApiClient,
  path: string,
  body: unknown,
  key: string,
  stats: LoadStats,
  deadline: number,
  headers: Record<string, string> = {},
): Promise<Answer | undefined> {
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) stats.retried++;
    const r = await postOnce(api, path, body, key, stats, headers);
    if (r.kind === 'accepted') return r.body;
    if (r.kind === 'refused') return undefined;
    await sleep(r.waitMs);
  }
  return undefined;
}

export interface LoadOptions {
  api: ApiClient;
  /** where the plans are sent; payments by default */
  path?: string;
  plans: (Pick<PaymentPlan, 'key' | 'ids'> & { body: unknown })[];
  /** new keys started per second */
  ratePerSec: number;
  /** keys being worked on at once (first sends, copies and their retries) */
  maxInFlight: number;
  /** share of keys sent as 2 or 3 concurrent copies */
  concurrentCopies: number;
  /** share of keys sent again 0.2 to 4 s after they were accepted */
  replays: number;
  deadline: number;
  stats: LoadStats;
}

/**
 * Drives the payments: paced, bounded in flight, with concurrent duplicates and later replays of
 * the same key; records every id the API names per key. Resolves once every key was accepted (or
 * refused, or the deadline passed) and every replay came back.
 */
export async function runPaymentLoad(o: LoadOptions): Promise<void> {
  const started = Date.now();
  const pending = new Set<Promise<void>>();
  let inFlight = 0;
  const send = async (plan: LoadOptions['plans'][number]) => {
    const answer = await submitUntilAccepted(o.api, o.path ?? '/v1/payments', plan.body, plan.key, o.stats, o.deadline);
    if (answer) plan.ids.add(answer.id);
  };
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  for (const [i, plan] of o.plans.entries()) {
    const due = started + (i * 1000) / o.ratePerSec;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight >= o.maxInFlight) await sleep(5);
    if (Date.now() > o.deadline) break;
    inFlight++;
    const copies = Math.random() < o.concurrentCopies ? 2 + Math.round(Math.random()) : 1;
    o.stats.duplicates += copies - 1;
    track(
      Promise.all(Array.from({ length: copies }, () => send(plan))).then(() => {
        inFlight--;
        if (plan.ids.size > 0 && Math.random() < o.replays) {
          o.stats.duplicates++;
          track(sleep(200 + Math.random() * 3_800).then(() => send(plan)));
        }
      }),
    );
  }
  while (pending.size > 0) await Promise.all([...pending]);
}
