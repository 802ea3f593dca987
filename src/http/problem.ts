import type { FastifyReply } from 'fastify';
import Type from 'typebox';

import { PROBLEM_BASE, PROBLEM_CONTENT_TYPE } from '../problem-base.ts';

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
  slug: string;
  title: string;
  detail?: string;
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
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

export const notFound = (what: string): Problem => ({ status: 404, slug: 'not-found', title: 'Not found', detail: `${what} does not exist.` });

export const RETRY_AFTER_UNAVAILABLE_S = 2;

export const unavailable = (detail: string): Problem => ({
  status: 503,
  slug: 'service-unavailable',
  title: 'Service temporarily unavailable',
  detail,
  headers: { 'retry-after': String(RETRY_AFTER_UNAVAILABLE_S) },
});
