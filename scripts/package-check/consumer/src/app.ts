import type { IdemqApp } from 'idemq';
import { notesMigrations } from './migrations.js';
import { createNote } from './notes.create.js';

export const notes: IdemqApp = { operations: [createNote], migrations: notesMigrations };
