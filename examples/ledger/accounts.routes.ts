import Type from 'typebox';
import { type AppRoutes, IdParams, isUuid, jsonResponse, NOT_FOUND, notFound, ProblemError, V1_PROBLEMS } from '../../src/index.ts';
import type { LedgerDatabase } from './database.ts';

const AccountSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  currency: Type.String(),
  balance: Type.Integer({ description: 'minor units' }),
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

/** GET /v1/accounts/:id: an account of the tenant; another tenant's account answers 404 like an unknown one. */
export const accountRoutes: AppRoutes = async (app, deps) => {
  const db = deps.db.$extendTables<LedgerDatabase>();
  app.get(
    '/v1/accounts/:id',
    {
      schema: {
        summary: 'An account of the tenant, with its current balance',
        tags: ['accounts'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: jsonResponse('The account.', AccountSchema), ...NOT_FOUND, ...V1_PROBLEMS },
      },
    },
    async (request) => {
      const { id } = request.params;
      const account = isUuid(id)
        ? await db
            .selectFrom('ledger.accounts')
            .select(['id', 'currency', 'balance', 'name', 'created_at'])
            .where('id', '=', id)
            .where('tenant_id', '=', request.tenantId)
            .executeTakeFirst()
        : undefined;
      if (!account) throw new ProblemError(notFound(`Account ${id}`));
      return {
        id: account.id,
        currency: account.currency,
        balance: account.balance,
        name: account.name,
        createdAt: account.created_at.toISOString(),
      };
    },
  );
};
