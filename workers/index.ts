/**
 * idemq's worker entry (`idemq/worker`): what an app needs to run its workers. It imports the core
 * (src/), never the reverse, and nothing of Fastify: an app's worker entry imports from here, and
 * its API entry from src/index.ts.
 */
export { runWorkerProcess, type WorkerApp } from './run-worker.ts';
export { startWorker, type WorkerHandle, type WorkerOptions } from './start-worker.ts';
export { createWorkerDeps, type WorkerDeps } from './worker-deps.ts';
