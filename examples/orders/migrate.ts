import { runMigrateProcess } from '../../src/index.ts';
import { orders } from './app.ts';

await runMigrateProcess(orders);
