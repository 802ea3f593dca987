import { type RequestError, type RequestRow, type RequestStatus, TERMINAL_STATUSES } from '../db/database.ts';

/** The public representation of a request, as every API answer and push shows it. */
export interface RequestView {
  id: string;
  operation: string;
  status: RequestStatus;
  createdAt: string;
  updatedAt: string;
  /** null while unfinished */
  expiresAt: string | null;
  result?: unknown;
  error?: RequestError;
}

export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function toRequestView(row: RequestRow): RequestView {
  const view: RequestView = {
    id: row.id,
    operation: row.operation,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
  };
  if (row.status === 'succeeded') view.result = row.result;
  if (row.status === 'failed' && row.error) view.error = row.error;
  return view;
}
