import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The request's identity under its key: method, operation route and the RFC 8785 canonical JSON
 * of the body, so key order and white space do not matter but every value does.
 */
export function fingerprintRequest(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${route}\n${canonicalize(body ?? null) ?? 'null'}`)
    .digest('base64url');
}
