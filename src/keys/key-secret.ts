import { createHash, randomInt } from 'node:crypto';

/** What every stored key's secret looks like: `sk_live_<prefix>_<random>`. */
export const SECRET_PATTERN = /^sk_live_([0-9a-z]{12})_([0-9A-Za-z]{43})$/;
const PREFIX_PATTERN = /^[0-9a-z]{12}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE36 = BASE62.slice(0, 36).toLowerCase();

/** 43 base-62 characters: 256 bits from the system's CSPRNG. */
const RANDOM_LENGTH = 43;

/** A new key's visible prefix (12 base-36 characters) and its secret, which holds the prefix. */
export function generateSecret(): { prefix: string; secret: string } {
  const prefix = pick(BASE36, 12);
  return { prefix, secret: `sk_live_${prefix}_${pick(BASE62, RANDOM_LENGTH)}` };
}

/**
 * The digest stored and looked up for a secret: plain SHA-256. The secrets are 256-bit random, so
 * neither a dictionary nor brute force can invert a leaked digest, and a slow password hash would
 * only cost every request CPU; a keyed hash would add a pepper to manage for no gain at this entropy.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** True for a plausible prefix as `npm run keys -- revoke` takes it. */
export function isPrefix(value: string): boolean {
  return PREFIX_PATTERN.test(value);
}

function pick(alphabet: string, length: number): string {
  // randomInt draws without modulo bias
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
