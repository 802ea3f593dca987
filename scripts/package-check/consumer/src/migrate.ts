import { runMigrateProcess } from 'idemq';
import { app } from './app.js';

await runMigrateProcess(app);
