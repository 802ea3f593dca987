import type { Transaction } from 'kysely';
import Type from 'typebox';
import { BusinessError, defineOperation } from '../../src/index.ts';
import type { OrdersDatabase } from './database.ts';

/** SKUs this shop no longer sells: an order for one is refused (a BusinessError, never retried). */
const DISCONTINUED = new Set(['SKU-0000']);

export const createOrder = defineOperation({
  name: 'orders.create',
  route: '/v1/orders',
  summary: 'Place an order for a quantity of one SKU',
  input: Type.Object(
    {
      sku: Type.String({ pattern: '^[A-Z0-9-]{1,32}$' }),
      quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
    },
    { additionalProperties: false },
  ),
  output: Type.Object({ orderId: Type.String({ format: 'uuid' }), sku: Type.String(), quantity: Type.Integer() }),
  async handle(trx: Transaction<OrdersDatabase>, ctx, input) {
    if (DISCONTINUED.has(input.sku)) throw new BusinessError('sku_discontinued', `${input.sku} is no longer sold.`);
    const order = await trx
      .insertInto('orders.orders')
      .values({ tenant_id: ctx.tenantId, request_id: ctx.requestId, sku: input.sku, quantity: input.quantity })
      .returning(['id', 'sku', 'quantity'])
      .executeTakeFirstOrThrow();
    return { orderId: order.id, sku: order.sku, quantity: order.quantity };
  },
});
