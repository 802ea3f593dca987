import * as openapiTypescript from 'openapi-typescript';
import type { OpenapiTypescript } from '../../../src/client-types/generate-types.ts';
import { documentText, typesHeader, typesOf } from '../../../src/client-types/generate-types.ts';

export { documentText };

/** openapi-typescript as this repository has it (a dev dependency of the client's workspace). */
export const generator = openapiTypescript as unknown as OpenapiTypescript;

/** The types the repository checks in for `document`, as `npm run client:types` writes them. */
export function generateTypes(document: object): Promise<string> {
  return typesOf(generator, document, typesHeader('npm run client:types'));
}
