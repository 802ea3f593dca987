import { closePool, type Conn, openPool } from './connection-pool.ts';
import { type LoadSpec, runLoad } from './http-load.ts';

// A generator process, driven over IPC by run-load.ts: `prepare` opens and warms the connections,
// `run` starts at a wall-clock time shared by all generator processes, `result` ends the process.
export type ParentMessage = { type: 'prepare'; spec: LoadSpec; options?: unknown } | { type: 'run'; startAtEpoch: number };

let spec: LoadSpec | undefined;
let conns: Conn[] = [];

// the harness is gone (aborted, or done with us): nothing left to report to
process.once('disconnect', () => process.exit());

process.on('message', (msg: ParentMessage) => {
  void handle(msg).catch((err: unknown) => {
    process.send!({ type: 'failed', error: String((err as Error)?.stack ?? err) });
    process.exitCode = 1;
    process.disconnect?.();
  });
});

async function handle(msg: ParentMessage): Promise<void> {
  if (msg.type === 'prepare') {
    spec = msg.spec;
    const pool = await openPool(spec.target, spec.connections, spec.wave, spec.keepBodies);
    conns = pool.conns;
    process.send!({ type: 'ready', ramp: pool.ramp });
    return;
  }
  if (!spec) throw new Error('run before prepare');
  const result = await runLoad(conns, spec, {}, msg.startAtEpoch);
  closePool(conns);
  process.send!({ type: 'result', result }, () => process.disconnect?.());
}
