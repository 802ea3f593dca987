import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH, parseIdempotencyKey } from '../../src/idempotency/idempotency-key.ts';

const keyOf = (header: string) => {
  const r = parseIdempotencyKey(header);
  if (!r.ok) throw new Error(`refused ${JSON.stringify(header)}: ${r.detail}`);
  return r.key;
};
const reasonOf = (header: string | string[] | undefined) => {
  const r = parseIdempotencyKey(header);
  return r.ok ? `accepted ${r.key}` : r.reason;
};

describe('parseIdempotencyKey', () => {
  it('reports a missing header as missing, not invalid', () => {
    expect(reasonOf(undefined)).toBe('missing');
  });

  it('reads the bare and the structured-field string form as the same key', () => {
    expect(keyOf('abc')).toBe('abc');
    expect(keyOf('"abc"')).toBe('abc');
    expect(keyOf('  abc  ')).toBe('abc');
    expect(keyOf('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
  });

  it('unescapes a quoted key, which may hold a comma the bare form may not', () => {
    expect(keyOf(String.raw`"a\"b"`)).toBe('a"b');
    expect(keyOf(String.raw`"a\\b"`)).toBe('a\\b');
    expect(keyOf('"a,b"')).toBe('a,b');
    expect(reasonOf('a,b')).toBe('invalid');
    // two header lines joined by the HTTP layer
    expect(reasonOf('abc, def')).toBe('invalid');
    expect(reasonOf('"abc", "def"')).toBe('invalid');
  });

  it('refuses empty keys, bare or quoted', () => {
    for (const header of ['', '   ', '""']) expect(reasonOf(header), header).toBe('invalid');
  });

  it(`accepts ${MAX_KEY_LENGTH} characters and refuses one more, in either form`, () => {
    const max = 'k'.repeat(MAX_KEY_LENGTH);
    expect(keyOf(max)).toBe(max);
    expect(keyOf(`"${max}"`)).toBe(max);
    expect(reasonOf(`${max}k`)).toBe('invalid');
    expect(reasonOf(`"${max}k"`)).toBe('invalid');
  });

  it('refuses control characters and anything outside printable ASCII', () => {
    for (const header of ['a\tb', 'a\x00b', 'a\x7fb', 'caf\u00e9', 'ключ', 'key-\u{1F511}']) {
      expect(reasonOf(header), JSON.stringify(header)).toBe('invalid');
    }
  });

  it('refuses quoted values that are not a plain structured-field string', () => {
    for (const header of ['"abc', '"abc";p=1', '"a\\qb"', '"abc"x']) expect(reasonOf(header), header).toBe('invalid');
  });

  it('refuses several header values', () => {
    expect(reasonOf(['abc', 'abc'])).toBe('invalid');
  });

  it('keeps keys case-sensitive and exact', () => {
    expect(keyOf('ABC')).not.toBe(keyOf('abc'));
    expect(keyOf('a b')).toBe('a b');
  });
});
