/** What production asks of a secret set by hand (ADMIN_TOKEN, an API_KEYS secret): `openssl rand -hex 16` gives 32. */
export const MIN_PRODUCTION_SECRET_LENGTH = 32;
/** fewer is a pattern, not randomness: `aaaa…`, `abab…`, `1234…` */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * Why `secret` is too weak for production, in words that never quote it; undefined if it is not.
 * A length and a count of distinct characters: no strength meter, only what a typo or a
 * placeholder (`xxxxxxxx…`, `changeme`) fails.
 */
export function secretWeakness(secret: string): string | undefined {
  if (secret.length < MIN_PRODUCTION_SECRET_LENGTH) {
    return `is ${secret.length} characters long; production needs at least ${MIN_PRODUCTION_SECRET_LENGTH} random characters`;
  }
  const distinct = new Set(secret).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) {
    return `repeats ${distinct === 1 ? 'one character' : `only ${distinct} distinct characters`}; production needs random characters (at least ${MIN_DISTINCT_CHARACTERS} distinct)`;
  }
  return undefined;
}
