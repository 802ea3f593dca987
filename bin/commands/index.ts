import type { Command } from '../command.ts';
import { api } from './api.ts';
import { clientTypes } from './client-types.ts';
import { dev } from './dev.ts';
import { init } from './init.ts';
import { keys } from './keys.ts';
import { migrate } from './migrate.ts';
import { start } from './start.ts';
import { worker } from './worker.ts';

/**
 * Every subcommand, in the order `idemq --help` lists them. Each loads what it runs only when it
 * runs: `idemq worker` loads nothing of the API (Fastify), `idemq --help` nothing of the service.
 */
export const COMMANDS: readonly Command[] = [init, dev, start, api, worker, migrate, keys, clientTypes];
