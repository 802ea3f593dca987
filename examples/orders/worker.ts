import { runWorkerProcess } from '../../src/index.ts';
import { orders } from './app.ts';

await runWorkerProcess(orders, { name: 'orders-worker' });
