import { parseArgs } from 'node:util';
import { writeClientTypes } from '../src/client-types/write-client-types.ts';
import { generator } from '../clients/typescript/scripts/generate-types.ts';
import { writeCheckedInTypes } from './client-types/checked-in.ts';

// `npm run client:types [-- --url <admin base> | --app <module>] [--out <file>]`: the types of a
// service's routes for `createClient<paths>()` (see writeClientTypes). Without flags it rewrites
// the types this repository checks in, which test/integration/client-package.test.ts compares with
// what the services serve: it builds their APIs in-process on a scratch database of the test services.
const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    app: { type: 'string' },
    out: { type: 'string' },
    document: { type: 'string' },
    'admin-token': { type: 'string' },
  },
});
try {
  if (values.url === undefined && values.app === undefined && values.out === undefined) {
    for (const file of await writeCheckedInTypes()) console.log(`wrote ${file}`);
  } else {
    const { out } = await writeClientTypes({
      out: values.out ?? 'idemq-paths.ts',
      url: values.url,
      app: values.app,
      adminToken: values['admin-token'],
      documentOut: values.document,
      env: process.env,
      generator,
      command: 'npm run client:types',
    });
    console.log(`wrote ${out}`);
  }
} catch (err) {
  // the message says what to do; the cause, when there is one, says what failed underneath
  console.error(
    err instanceof Error ? `${err.message}${err.cause ? `\n  (${String((err.cause as Error).message ?? err.cause)})` : ''}` : err,
  );
  process.exitCode = 1;
}
