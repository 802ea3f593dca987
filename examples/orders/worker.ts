import { runWorkerProcess } from '../../workers/index.ts';
import { orders } from './app.ts';

await runWorkerProcess(orders, { name: 'orders-worker' });
