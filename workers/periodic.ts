import type { Logger } from 'pino';

export interface PeriodicTask {
  /** runs the task now, unless it is already running */
  nudge(): void;
  /** stops scheduling and waits for a run in progress */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` (and on `nudge`), one run at a time. When a run reports that it
 * filled a whole batch it goes again at once. A failing run is logged and retried next interval.
 */
export function startPeriodicTask(name: string, intervalMs: number, run: () => Promise<{ more: boolean }>, log: Logger): PeriodicTask {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  // a nudge during a run means the run may have missed something: go again right after it
  let nudged = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  };
  const tick = () => {
    if (current || stopped) return;
    nudged = false;
    current = run()
      .then(({ more }) => schedule(more || nudged ? 0 : intervalMs))
      .catch((err) => {
        log.warn({ err, task: name }, 'periodic task failed; retrying next interval');
        schedule(intervalMs);
      })
      .finally(() => (current = undefined));
  };
  schedule(0);
  return {
    nudge() {
      if (current) nudged = true;
      else schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
