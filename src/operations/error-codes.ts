/**
 * The error code a request ends with when it could not be carried out, whatever the kind of its
 * operation: its attempts ran out (a transactional operation that kept failing, an upstream that
 * never gave a definitive answer). Clients may retry such a request under a new key.
 */
export const PROCESSING_FAILED = 'processing_failed';
