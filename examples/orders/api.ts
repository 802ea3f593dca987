import { runApiProcess } from '../../src/index.ts';
import { orders } from './app.ts';

await runApiProcess(orders, { name: 'orders-api' });
