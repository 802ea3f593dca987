import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, isPrefix, SECRET_PATTERN } from '../../src/keys/key-secret.ts';

describe('API key secrets', () => {
  it('have the documented form, hold their prefix, and never repeat', () => {
    const drawn = Array.from({ length: 2_000 }, generateSecret);
    for (const { prefix, secret } of drawn) {
      expect(secret).toMatch(SECRET_PATTERN);
      expect(SECRET_PATTERN.exec(secret)![1]).toBe(prefix);
      expect(isPrefix(prefix)).toBe(true);
    }
    expect(new Set(drawn.map((d) => d.secret)).size).toBe(drawn.length);
    expect(new Set(drawn.map((d) => d.prefix)).size).toBe(drawn.length);
  });

  it('use the whole alphabet in the random part, evenly enough for 256 bits in 43 characters', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++)
      for (const c of SECRET_PATTERN.exec(generateSecret().secret)![2]!) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 86,000 characters over 62 symbols: about 1,387 each; a biased draw would leave some far off
    for (const n of counts.values()) expect(Math.abs(n - 86_000 / 62)).toBeLessThan(250);
    expect(43 * Math.log2(62)).toBeGreaterThan(256);
  });

  it('are stored as the SHA-256 digest of the whole secret', () => {
    const { secret } = generateSecret();
    expect(hashSecret(secret).equals(createHash('sha256').update(secret).digest())).toBe(true);
  });

  it('a prefix is 12 lowercase letters and digits, nothing else', () => {
    for (const bad of ['', 'abc', 'ABCDEFABCDEF', 'abcdefabcdef0', 'abcdef abcde', "abcdef'abcde"]) expect(isPrefix(bad)).toBe(false);
  });
});
