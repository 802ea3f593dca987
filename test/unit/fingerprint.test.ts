import { describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';

const payment = { fromAccount: 'a', toAccount: 'b', amount: 2_500, currency: 'USD', meta: { x: [1, 2], y: null } };
const fp = (body: unknown, route = '/v1/items', method = 'POST') => fingerprintRequest(method, route, body);

describe('fingerprintRequest', () => {
  it('ignores key order, at every depth, and white space of the JSON text', () => {
    const reordered = { meta: { y: null, x: [1, 2] }, currency: 'USD', amount: 2_500, toAccount: 'b', fromAccount: 'a' };
    const spaced = JSON.parse(JSON.stringify(payment, null, 4));
    expect(fp(reordered)).toBe(fp(payment));
    expect(fp(spaced)).toBe(fp(payment));
  });

  it('treats numbers by value, as JSON does', () => {
    expect(fp(JSON.parse('{"amount": 2500.0}'))).toBe(fp({ amount: 2_500 }));
    expect(fp(JSON.parse('{"amount": 2.5e3}'))).toBe(fp({ amount: 2_500 }));
  });

  it('changes with any value, its type, array order, or a key added or removed', () => {
    const variants = [
      { ...payment, amount: 2_501 },
      { ...payment, amount: '2500' },
      { ...payment, currency: 'usd' },
      { ...payment, meta: { x: [2, 1], y: null } },
      { ...payment, meta: { x: [1, 2] } },
      { ...payment, description: '' },
      { ...payment, meta: { x: [1, 2], y: false } },
    ];
    const prints = new Set([fp(payment), ...variants.map((v) => fp(v))]);
    expect(prints.size).toBe(variants.length + 1);
  });

  it('changes with the route and the method, for the same body', () => {
    const body = { name: 'item', quantity: 0 };
    expect(fp(body, '/v1/items')).not.toBe(fp(body, '/v1/items'));
    expect(fp(body, '/v1/items', 'PUT')).not.toBe(fp(body, '/v1/items', 'POST'));
    expect(fp(body, '/v1/items', 'post')).toBe(fp(body, '/v1/items', 'POST'));
  });

  it('is a stable, url-safe sha-256 digest', () => {
    expect(fp(payment)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fp(structuredClone(payment))).toBe(fp(payment));
    expect(fp(undefined)).toBe(fp(null));
  });
});
