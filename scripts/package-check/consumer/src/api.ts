import { runApiProcess } from 'idemq';
import { app } from './app.js';

await runApiProcess(app, { name: 'notes-api' });
