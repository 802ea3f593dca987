import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processCpuMs, processTreeCpuMs } from '../../bench/system/proc-ticks.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a fixed amount of CPU work in a child bash, however long contention makes it take */
const BUSY = 'bash -c "i=0; while [ \\$i -lt 120000 ]; do i=\\$((i+1)); done"';

describe('processTreeCpuMs', () => {
  it('counts a child that burned CPU and was reaped, which the process alone does not', async () => {
    const shell = spawn('bash', ['-c', `${BUSY}; echo done; sleep 30`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(shell.stdout, 'data');
      const own = processCpuMs(shell.pid!);
      const tree = processTreeCpuMs(shell.pid!);
      expect(own).toBeLessThan(50);
      expect(tree - own).toBeGreaterThan(200);
    } finally {
      shell.kill('SIGKILL');
    }
  }, 60_000);

  it('counts a live child too', async () => {
    const shell = spawn('bash', ['-c', `${BUSY}; true`], { stdio: 'ignore' });
    try {
      let tree = 0;
      for (let i = 0; i < 100 && tree < 100; i++) {
        await sleep(50);
        tree = processTreeCpuMs(shell.pid!);
      }
      expect(tree - processCpuMs(shell.pid!)).toBeGreaterThanOrEqual(100);
    } finally {
      shell.kill('SIGKILL');
    }
  });

  it('reads 0 for a process that is gone', () => {
    expect(processCpuMs(2 ** 22 + 7)).toBe(0);
    expect(processTreeCpuMs(2 ** 22 + 7)).toBe(0);
  });
});
