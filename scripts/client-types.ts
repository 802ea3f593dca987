import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { ledger } from '../examples/ledger/app.ts';
import { buildApp, openapiDocument } from '../src/app.ts';
import { appMigrations } from '../src/app-definition.ts';
import { createApiDeps } from '../src/deps.ts';
import { loadProcessConfigOrExit } from '../src/load-config-or-exit.ts';
import { documentText, generateTypes } from '../clients/typescript/scripts/generate-types.ts';

// `npm run client:types`: builds the ledger's API in-process (it needs the database `npm start` uses, migrated),
// takes the OpenAPI document its admin server serves (at /docs/json) and writes it and the client's types generated from it.
// test/integration/client-package.test.ts fails while the checked-in files differ from these.
const { config, operations } = loadProcessConfigOrExit({ operations: ledger.operations });
const { deps, close } = await createApiDeps(config, pino({ level: 'warn' }), appMigrations(ledger));
const app = await buildApp(deps, { operations, routes: ledger.routes });
try {
  await app.ready();
  const document = openapiDocument(app);
  const out = new URL('../clients/typescript/src/generated/', import.meta.url);
  writeFileSync(new URL('openapi.json', out), documentText(document));
  writeFileSync(new URL('api-types.ts', out), await generateTypes(document));
  console.log(`wrote ${new URL('openapi.json', out).pathname} and api-types.ts`);
} finally {
  await app.close();
  await close();
}
