// Compile-time checks that the package's declarations resolved: were any of them `any`, the
// expected errors below would not happen and tsc would fail on the unused directives.
import { defineOperation, type IdemqApp, type RequestStatus } from 'idemq';
import { runWorkerProcess } from 'idemq/worker';
import { createNote } from './notes.create.js';

// @ts-expect-error an operation needs a name, a route, an input schema and a handler
defineOperation({ name: 'broken' });
// @ts-expect-error operations is a list
export const wrong: IdemqApp = { operations: createNote };
// @ts-expect-error not a status a request can have
export const status: RequestStatus = 'done';
// @ts-expect-error runWorkerProcess takes an app
export const noApp = () => runWorkerProcess();
