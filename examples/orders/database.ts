import type { ColumnType, Generated } from 'kysely';

export interface OrderTable {
  id: Generated<string>;
  tenant_id: string;
  /** unique: the order an orders.create request placed, once */
  request_id: string;
  sku: string;
  quantity: number;
  created_at: ColumnType<Date, never, never>;
}

/** The app's tables, in its own Postgres schema `orders`. */
export type OrdersDatabase = {
  'orders.orders': OrderTable;
};
