import type { IdemqApp } from '../../src/index.ts';
import { ordersMigrations } from './migrations/index.ts';
import { createOrder } from './orders.create.ts';

export const orders: IdemqApp = {
  operations: [createOrder],
  migrations: ordersMigrations,
};
