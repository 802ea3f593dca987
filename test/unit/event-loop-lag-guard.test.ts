import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { guardEventLoopLag } from '../../src/event-loop-lag-guard.ts';

const lagLines = (text: string) => text.split('\n').filter((l) => l.startsWith('idemq_test_nodejs_eventloop_lag'));

describe('event loop delay on /metrics (guardEventLoopLag)', () => {
  it('an idle process scraped twice within the sampling resolution shows no NaN and no absurd delay', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'idemq_test_' });
    guardEventLoopLag(registry, 'idemq_test_');
    await new Promise((r) => setTimeout(r, 100));
    const scrapes = [await registry.metrics(), await registry.metrics(), await registry.metrics()];
    for (const text of scrapes) {
      const lines = lagLines(text);
      expect(lines.length).toBeGreaterThanOrEqual(7);
      for (const line of lines) {
        const value = Number(line.split(' ').at(-1));
        expect(Number.isFinite(value), line).toBe(true);
        expect(value, line).toBeGreaterThanOrEqual(0);
        expect(value, line).toBeLessThan(60);
      }
    }
    registry.clear();
  });
});
