import { runWorkerProcess } from 'idemq/worker';
import { app } from './app.js';

await runWorkerProcess(app, { name: 'notes-worker' });
