import { describe, expect, it } from 'vitest';
import { packageNameOf, schemaNameOf } from '../../bin/scaffold.ts';

describe("idemq init's names", () => {
  it("makes an npm name of any directory's name", () => {
    expect(packageNameOf('/tmp/x/My App')).toBe('my-app');
    expect(packageNameOf('/tmp/x/.hidden')).toBe('hidden');
    expect(packageNameOf('/tmp/x/$(rm -rf ~)')).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
    expect(packageNameOf('/')).toBe('idemq-app');
  });

  it("gives the app a schema of its own: a plain identifier, never idemq's, public or a system schema", () => {
    expect(schemaNameOf('shop-notes')).toBe('shop_notes');
    expect(schemaNameOf('@acme/orders.api')).toBe('orders_api');
    expect(schemaNameOf('idemq')).toBe('app_idemq');
    expect(schemaNameOf('public')).toBe('app_public');
    expect(schemaNameOf('pg_catalog')).toBe('app_pg_catalog');
    expect(schemaNameOf('2fa')).toBe('app_2fa');
    expect(schemaNameOf('---')).toBe('app_main');
    for (const name of ['a"; drop table x; --', 'x'.repeat(200), 'Ünïcode']) expect(schemaNameOf(name)).toMatch(/^[a-z_][a-z0-9_]{0,43}$/);
  });
});
