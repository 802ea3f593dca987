import type { ColumnType, Generated } from 'kysely';

export interface NoteTable {
  id: Generated<string>;
  tenant_id: string;
  /** one note per request: a retried job finds the note its first attempt wrote */
  request_id: string;
  text: string;
  created_at: ColumnType<Date, never, never>;
}

/** The app's tables, in its own Postgres schema `notes`. */
export interface NotesDatabase {
  'notes.notes': NoteTable;
}
