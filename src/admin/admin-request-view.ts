import type { RequestRow } from '../db/database.ts';

/** A request as an operator sees it: everything the row holds but its fingerprint. */
export function toAdminRequestView(row: RequestRow) {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    idempotencyKey: row.idempotency_key,
    operation: row.operation,
    status: row.status,
    payload: row.payload,
    result: row.result,
    error: row.error,
    attempts: row.attempts,
    leaseUntil: row.lease_until?.toISOString() ?? null,
    history: row.history,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
  };
}
