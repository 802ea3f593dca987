import { describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';

const body = { from: 'a', to: 'b', quantity: 2_500, unit: 'USD', meta: { x: [1, 2], y: null } };
const fp = (body: unknown, route = '/v1/items', method = 'POST') => fingerprintRequest(method, route, body);

describe('fingerprintRequest', () => {
  it('ignores key order, at every depth, and white space of the JSON text', () => {
    const reordered = { meta: { y: null, x: [1, 2] }, unit: 'USD', quantity: 2_500, to: 'b', from: 'a' };
    const spaced = JSON.parse(JSON.stringify(body, null, 4));
    expect(fp(reordered)).toBe(fp(body));
    expect(fp(spaced)).toBe(fp(body));
  });

  it('treats numbers by value, as JSON does', () => {
    expect(fp(JSON.parse('{"quantity": 2500.0}'))).toBe(fp({ quantity: 2_500 }));
    expect(fp(JSON.parse('{"quantity": 2.5e3}'))).toBe(fp({ quantity: 2_500 }));
  });

  it('changes with any value, its type, array order, or a key added or removed', () => {
    const variants = [
      { ...body, quantity: 2_501 },
      { ...body, quantity: '2500' },
      { ...body, unit: 'usd' },
      { ...body, meta: { x: [2, 1], y: null } },
      { ...body, meta: { x: [1, 2] } },
      { ...body, description: '' },
      { ...body, meta: { x: [1, 2], y: false } },
    ];
    const prints = new Set([fp(body), ...variants.map((v) => fp(v))]);
    expect(prints.size).toBe(variants.length + 1);
  });

  it('changes with the route and the method, for the same body', () => {
    const body = { name: 'item', quantity: 0 };
    expect(fp(body, '/v1/items')).not.toBe(fp(body, '/v1/orders'));
    expect(fp(body, '/v1/items', 'PUT')).not.toBe(fp(body, '/v1/items', 'POST'));
    expect(fp(body, '/v1/items', 'post')).toBe(fp(body, '/v1/items', 'POST'));
  });

  it('is a stable, url-safe sha-256 digest', () => {
    expect(fp(body)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fp(structuredClone(body))).toBe(fp(body));
    expect(fp(undefined)).toBe(fp(null));
  });
});
