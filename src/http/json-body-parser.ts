import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkJsonShape, type JsonShapeLimits, type JsonShapeRefusal } from '../json/json-shape.ts';
import { type Problem, problem, ProblemError } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** the bytes of a JSON body as received (0 without one), set by the checked JSON parser */
    bodyBytes: number;
  }
}

/** A route's own JSON limits, in its `config` (`{ config: { jsonLimits } }`); the scope's defaults otherwise. */
export interface JsonLimitsConfig {
  jsonLimits?: Partial<JsonShapeLimits>;
}

/**
 * Replaces the scope's `application/json` parser with one that checks the text's shape before it
 * is built (checkJsonShape): too deep, too many values, or not I-JSON answers 400 with a stable
 * problem type, so no such body reaches a schema, a fingerprint or the grouped INSERT. What passes
 * is parsed by Fastify's own parser (`__proto__` and `constructor.prototype` refused as before).
 * Sets `request.bodyBytes`, what the byte budget counts.
 */
export function useCheckedJsonParser(app: FastifyInstance, defaults: JsonShapeLimits): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.decorateRequest('bodyBytes', 0);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.bodyBytes = Buffer.byteLength(body as string);
    const refusal = checkJsonShape(body as string, limitsOf(request, defaults));
    if (refusal) {
      done(new ProblemError(problemOf(refusal)), undefined);
      return;
    }
    void parse(request, body as string, done);
  });
}

function limitsOf(request: FastifyRequest, defaults: JsonShapeLimits): JsonShapeLimits {
  const own = (request.routeOptions.config as JsonLimitsConfig | undefined)?.jsonLimits;
  return own ? { ...defaults, ...own } : defaults;
}

/** The problem each refusal answers; the slugs are stable and listed in docs/api.md. */
export function problemOf(refusal: JsonShapeRefusal): Problem {
  const errors = (detail: string) => ({ errors: [{ pointer: `#${refusal.pointer}`, detail }] });
  switch (refusal.kind) {
    case 'too-deep':
      return problem('body-too-deep', `Objects and arrays may be nested ${refusal.limit} levels deep on this route; flatten the body.`, {
        extra: errors(`nested deeper than ${refusal.limit} levels`),
      });
    case 'too-complex':
      return problem(
        'body-too-complex',
        `A body may hold ${refusal.limit} values (objects, arrays, strings, numbers, literals) on this route; send fewer, or split the request.`,
        { extra: errors(`value number ${refusal.limit + 1}`) },
      );
    case 'duplicate-key':
      return problem(
        'not-i-json',
        'An object holds the same key twice; bodies must be I-JSON (RFC 7493), whose objects have unique keys.',
        {
          extra: errors('a key repeated in its object'),
        },
      );
    case 'number-out-of-range':
      return problem(
        'not-i-json',
        `The number ${refusal.text} is beyond ±(2^53 − 1) or not finite, so it would not arrive as sent; bodies must be I-JSON (RFC 7493). Send it as a string.`,
        { extra: errors('a number beyond ±(2^53 − 1) or not finite') },
      );
  }
}
