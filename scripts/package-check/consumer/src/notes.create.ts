import type { Transaction } from 'kysely';
import Type from 'typebox';
import { BusinessError, defineOperation } from 'idemq';
import type { NotesDatabase } from './database.js';

export const createNote = defineOperation({
  name: 'notes.create',
  route: '/v1/notes',
  summary: 'Write a note, once per idempotency key',
  input: Type.Object({ text: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  output: Type.Object({ noteId: Type.String({ format: 'uuid' }), length: Type.Integer() }),
  async handle(trx: Transaction<NotesDatabase>, ctx, input) {
    if (input.text.trim() === '') throw new BusinessError('empty_note', 'A note needs more than spaces.');
    const note = await trx
      .insertInto('notes.notes')
      .values({ tenant_id: ctx.tenantId, request_id: ctx.requestId, text: input.text })
      .returning(['id'])
      .executeTakeFirstOrThrow();
    return { noteId: note.id, length: input.text.length };
  },
});
