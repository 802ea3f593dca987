import { describe, expect, it } from 'vitest';
import { createWakeup } from '../../src/status/wakeup.ts';

describe('wakeup', () => {
  it('keeps a wake-up that came before the wait, with the highest version named since the last wait', async () => {
    const w = createWakeup();
    w.wake(3);
    w.wake(5);
    w.wake(4);
    expect(await w.wait(1_000)).toBe(5);
    w.wake(6);
    expect(await w.wait(1_000)).toBe(6);
  });

  it('names no version once a wake-up named none, after a timeout, or on an abort', async () => {
    const w = createWakeup();
    w.wake(3);
    w.wake();
    w.wake(7);
    expect(await w.wait(1_000)).toBeUndefined();
    expect(await w.wait(10)).toBeUndefined();
    const abort = new AbortController();
    const waiting = w.wait(1_000, abort.signal);
    abort.abort();
    expect(await waiting).toBeUndefined();
  });

  it('resolves a wait in progress with the version that woke it', async () => {
    const w = createWakeup();
    const waiting = w.wait(1_000);
    w.wake(9);
    expect(await waiting).toBe(9);
  });
});
