import { runWorkerProcess } from 'idemq/worker';
import { notes } from './app.js';

await runWorkerProcess(notes, { name: 'notes-worker' });
