import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { PROBLEM_BASE, PROBLEM_CONTENT_TYPE } from '../problem-base.ts';
import { PROBLEM_TYPES, type ProblemSlug } from './problem-types.ts';

export { PROBLEM_BASE, PROBLEM_CONTENT_TYPE };

/** RFC 9457 problem details, as every error answer carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String() }))),
  },
  { additionalProperties: true },
);

export interface Problem {
  status: number;
  slug: ProblemSlug;
  title: string;
  detail?: string;
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
}

/**
 * The problem of type `slug`, with the title and status of PROBLEM_TYPES; `status` overrides the
 * table's only where the type covers several (`bad-request`: the 4xx Fastify reported).
 */
export function problem(slug: ProblemSlug, detail?: string, more: Pick<Problem, 'headers' | 'extra'> & { status?: number } = {}): Problem {
  const { status, title } = PROBLEM_TYPES[slug];
  return {
    status: more.status ?? status,
    slug,
    title,
    ...(detail !== undefined && { detail }),
    ...(more.headers && { headers: more.headers }),
    ...(more.extra && { extra: more.extra }),
  };
}

/** An expected error of a route, turned into problem+json by the app's error handler. */
export class ProblemError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem, options?: { cause?: unknown }) {
    super(problem.detail ?? problem.title, options);
    this.name = 'ProblemError';
    this.problem = problem;
  }
}

export function sendProblem(reply: FastifyReply, problem: Problem, instance?: string): FastifyReply {
  if (problem.headers) reply.headers(problem.headers);
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: PROBLEM_BASE + problem.slug,
      title: problem.title,
      status: problem.status,
      ...(problem.detail ? { detail: problem.detail } : {}),
      ...(instance ? { instance } : {}),
      ...problem.extra,
    });
}

export const notFound = (what: string): Problem => problem('not-found', `${what} does not exist.`);

export const RETRY_AFTER_UNAVAILABLE_S = 2;

export const unavailable = (detail: string): Problem =>
  problem('service-unavailable', detail, { headers: { 'retry-after': String(RETRY_AFTER_UNAVAILABLE_S) } });
