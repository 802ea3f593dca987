import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionGuard } from '../net/connection-guard.ts';

/**
 * The public server's sockets in `registry`, read from its guard at each scrape: open and idle
 * ones, arrivals refused by each cap, idle ones closed to make room. One server per registry:
 * a second is not counted.
 */
export function registerConnectionMetrics(registry: Registry, guard: ConnectionGuard): void {
  if (registry.getSingleMetric('idemq_http_connections')) return;
  new Gauge({
    name: 'idemq_http_connections',
    help: 'Open sockets of the public server, by state (idle: between two requests, reclaimable at the cap)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'idle' }, guard.idle());
      this.set({ state: 'busy' }, guard.open() - guard.idle());
    },
  });
  new Counter({
    name: 'idemq_http_connections_refused_total',
    help: 'Sockets closed on arrival, unanswered, by the cap that refused them: address (HTTP_MAX_CONNECTIONS_PER_ADDRESS) or total (HTTP_MAX_CONNECTIONS, none idle to reclaim)',
    labelNames: ['cap'] as const,
    registers: [registry],
    collect() {
      const { refused } = guard.stats();
      this.reset();
      this.inc({ cap: 'address' }, refused.perAddress);
      this.inc({ cap: 'total' }, refused.total);
    },
  });
  new Counter({
    name: 'idemq_http_connections_reclaimed_total',
    help: 'Idle keep-alive sockets closed to make room for an arrival at HTTP_MAX_CONNECTIONS',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(guard.stats().reclaimed);
    },
  });
}
