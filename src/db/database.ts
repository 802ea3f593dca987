import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type RequestStatus = 'queued' | 'processing' | 'succeeded' | 'failed';
export const TERMINAL_STATUSES: readonly RequestStatus[] = ['succeeded', 'failed'];

export interface RequestError {
  code: string;
  message: string;
  /** forward routes: the upstream's answer that decided the failure */
  upstream?: { status: number; headers: Record<string, string>; body: unknown; truncated?: true };
}

type CreatedAt = ColumnType<Date, never, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;
type Json<T> = ColumnType<T, string, string>;

/** One idempotency record: the write-ahead log of a client's request. */
export interface RequestTable {
  id: Generated<string>;
  tenant_id: string;
  idempotency_key: string;
  /** sha256 of method, route and canonical JSON body */
  fingerprint: string;
  operation: string;
  payload: Json<unknown>;
  status: ColumnType<RequestStatus, RequestStatus | undefined, RequestStatus>;
  result: Json<unknown> | null;
  error: Json<RequestError | null> | null;
  /** bumped on every observable change; the event id of pushes */
  version: ColumnType<number, never, number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** how long the key is kept once the request is terminal (IDEMPOTENCY_TTL_SECONDS when recorded) */
  retention_seconds: ColumnType<number, number, never>;
  /** null while unfinished (the key is kept); set to completion + retention when it becomes terminal */
  expires_at: ColumnType<Date | null, Date | null | undefined, never>;
  /** attempts started on an upstream (forward routes); the latest one's number fences its outcome */
  attempts: ColumnType<number, never, number>;
  /** forward routes: the latest attempt's lease, or the earliest next attempt; null before the first */
  lease_until: ColumnType<Date | null, never, Date | null>;
  /** the latest status changes, oldest first, at most HISTORY_LIMIT (see status-history.ts) */
  history: ColumnType<StatusChange[], never, never>;
}

/** One entry of a request's status history; `at` is Postgres's clock, as ISO text. */
export interface StatusChange {
  status: RequestStatus;
  at: string;
  /** set on the `queued` entry an operator's re-drive appends */
  redriven?: true;
}

export interface OutboxTable {
  id: Generated<string>;
  /** the request of a one-event row; null on a row that carries a batch's events */
  request_id: string | null;
  /** one event, or the events of a batch (request_id null) */
  payload: Json<StatusEvent | StatusEvent[]>;
  created_at: CreatedAt;
}

/** What the outbox publishes: a wake-up naming the request; readers load the state from Postgres. */
export interface StatusEvent {
  requestId: string;
  tenantId: string;
  status: RequestStatus;
  version: number;
  /** the request was deleted (an operator's console delete): its key now starts a new request */
  deleted?: true;
  /** the trace context of the work that wrote it (W3C `traceparent`), when tracing is on */
  trace?: Record<string, string>;
  /** added by the relay to a terminal event it has timings for: when the key was recorded (ms since the epoch) */
  acceptedAt?: number;
  /** added by the relay: when it published the event (ms since the epoch) */
  publishedAt?: number;
}

export type ApiKeyScope = 'read' | 'write';
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['read', 'write'];

/** An API key (`npm run keys`): its digest, never its secret. */
export interface ApiKeyTable {
  /** the visible part of the secret, `sk_live_<prefix>_…`; names the key in lists and revocations */
  prefix: string;
  tenant_id: string;
  /** SHA-256 of the whole secret */
  secret_hash: Buffer;
  scopes: ApiKeyScope[];
  created_at: CreatedAt;
  /** written in batches by the API instances, so it may lag the last use by some seconds */
  last_used_at: ColumnType<Date | null, never, Date | null>;
  revoked_at: ColumnType<Date | null, never, Date | null>;
}

/** An admin login session (the admin plane's cookie): a MAC of its random id, never the id. */
export interface AdminSessionTable {
  /** HMAC-SHA256 of the session id, keyed with ADMIN_TOKEN */
  id_hash: Buffer;
  created_at: CreatedAt;
  expires_at: Date;
}

/**
 * The core's tables, schema-qualified: the core keeps to its own Postgres schema, `idemq`, so its
 * generic names never collide with an app's. An app's operations see their own tables through
 * their own Database interface (see TransactionalOperation).
 */
export interface Database {
  'idemq.requests': RequestTable;
  'idemq.outbox': OutboxTable;
  'idemq.api_keys': ApiKeyTable;
  'idemq.admin_sessions': AdminSessionTable;
}

export type RequestRow = Selectable<RequestTable>;
export type NewRequestRow = Insertable<RequestTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
