import Type from 'typebox';
import { UUID_PATTERN } from '../../src/index.ts';

/** ISO 4217 code */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. USD' });

/** A positive amount in minor units that stays exact in JSON and in Postgres bigint. */
export const Amount = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const Uuid = Type.String({ pattern: UUID_PATTERN });
