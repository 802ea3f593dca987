import { runMigrateProcess } from 'idemq';
import { notes } from './app.js';

await runMigrateProcess(notes);
