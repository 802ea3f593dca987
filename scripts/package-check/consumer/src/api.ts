import { runApiProcess } from 'idemq';
import { notes } from './app.js';

await runApiProcess(notes, { name: 'notes-api' });
