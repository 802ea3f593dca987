import type { IdemqApp } from 'idemq';
import { notesMigrations } from './migrations.js';
import { createNote } from './notes.create.js';

// `app`: the name the idemq command looks for (--app build/app.js), besides a default export
export const app: IdemqApp = { operations: [createNote], migrations: notesMigrations };
