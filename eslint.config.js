// ESLint for the whole tree: typescript-eslint's type-aware rules on the TypeScript, ESLint's own on
// the request console's browser script. typescript-eslint comes from the `scripts/lint` workspace,
// which holds the TypeScript compiler API it builds on (docs/dependencies.md says why).
import js from '@eslint/js';
import { tseslint } from '@idemq/lint';
import { defineConfig } from 'eslint/config';

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      'coverage/',
      'bench/results/',
      // generated from the served OpenAPI document by `npm run client:types`
      'clients/typescript/src/generated/',
      'clients/typescript/examples/ledger-paths.ts',
      'test/fixtures/app/client-paths.ts',
      // a user's app that imports `idemq` by name: type-checked where the tarball is installed (npm run package:check)
      'scripts/package-check/consumer/',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `import('node:net').Socket` next to a dynamic import of the same module is fine
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      // a `let` read by a closure before its one assignment (a shutdown handler, a watch set up later) stays `let`
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // an abort signal's reason is passed on as the caller gave it (a DOMException unless they chose)
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `async` marks a function that keeps a promise-returning contract, with or without an await in it
      '@typescript-eslint/require-await': 'off',
      // services are plain objects of closures, never `this`: taking `close` out of `{ deps, close }` is safe
      '@typescript-eslint/unbound-method': 'off',
      // templates and String() stringify numbers, errors, buffers and query strings on purpose
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // the lint sees TypeScript 6's types, the build TypeScript 7's: an assertion redundant to one may not be to the other
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Kysely's convention: code that runs on a database of any schema (migrations, the migrator, the
    // deployment identity) takes `Kysely<any>`
    files: ['**/migrations/*.ts', 'src/db/**/*.ts', 'src/queue/queue-owner.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // tests read responses and messages as parsed JSON (`any`) and assert on them: the expectation is the check
    files: ['test/**/*.ts', 'examples/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
  },
  {
    // the request console runs in the browser, with no build step
    files: ['src/admin/console/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly', EventSource: 'readonly' },
    },
  },
);
