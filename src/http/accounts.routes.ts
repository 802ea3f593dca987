import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AppDeps } from '../app.ts';
import { isUuid } from '../uuid.ts';
import { jsonResponse, NOT_FOUND, V1_PROBLEMS } from './openapi-responses.ts';
import { notFound, ProblemError } from './problem.ts';
import { IdParams } from './schemas.ts';

const AccountSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  currency: Type.String(),
  balance: Type.Integer({ description: 'minor units' }),
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export async function accountRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
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
      const { id } = request.params as { id: string };
      const account = isUuid(id)
        ? await deps.db
            .selectFrom('accounts')
            .select(['id', 'currency', 'balance', 'name', 'created_at'])
            .where('id', '=', id)
            .where('tenant_id', '=', request.tenantId)
            .executeTakeFirst()
        : undefined;
      if (!account) throw new ProblemError(notFound(`Account ${id}`));
      return { id: account.id, currency: account.currency, balance: account.balance, name: account.name, createdAt: account.created_at.toISOString() };
    },
  );
}
