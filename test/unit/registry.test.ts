import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineOperation } from '../../src/operations/operation.ts';
import { createRegistry } from '../../src/operations/registry.ts';

const op = (name: string, route: string) =>
  defineOperation({ name, route, summary: name, input: Type.Object({}), handle: async () => null });

describe('the registry built from the operations passed in', () => {
  it('finds each operation by its stored name, and nothing else', () => {
    const a = op('a.create', '/v1/a');
    const b = op('b.create', '/v1/b');
    const registry = createRegistry([a, b]);
    expect(registry.find('b.create')).toBe(b);
    expect(registry.find('c.create')).toBeUndefined();
    expect(registry.find('__proto__')).toBeUndefined();
  });

  it('refuses two operations with one name, naming it', () => {
    expect(() => createRegistry([op('a.create', '/v1/a'), op('a.create', '/v1/other')])).toThrow(/Two operations are named "a\.create"/);
  });

  it('refuses two operations with one route, naming both, a trailing slash making no difference', () => {
    expect(() => createRegistry([op('a.create', '/v1/a'), op('b.create', '/v1/a/')])).toThrow(
      /"a\.create" and "b\.create" both use the route POST \/v1\/a/,
    );
  });
});
