import { writeCheckedInTypes } from './client-types/checked-in.ts';

// `npm run client:types`: rewrites the types this repository checks in, which
// test/integration/client-package.test.ts compares with what the services serve: it builds their
// APIs in-process on a scratch database of the test services. A service's own types come from
// `idemq client-types --url <admin base> | --app <module>` (bin/commands/client-types.ts).
try {
  for (const file of await writeCheckedInTypes()) console.log(`wrote ${file}`);
} catch (err) {
  // the message says what to do; the cause, when there is one, says what failed underneath
  console.error(
    err instanceof Error ? `${err.message}${err.cause ? `\n  (${String((err.cause as Error).message ?? err.cause)})` : ''}` : err,
  );
  process.exitCode = 1;
}
