import { describe, expect, it } from 'vitest';
import { Stats } from '../src/stats.ts';

describe('stats with worker processes', () => {
  it('sums the workers’ counters and gauges into this process’s, keeps its own server state, and counts requests per process', () => {
    const stats = new Stats();
    stats.counter('http.inbound.downstream_rq_total').inc(3);
    stats.gauge('server.state').set(0);
    stats.gauge('listener_manager.workers_started').set(2);
    stats.setWorker(1, [
      ['http.inbound.downstream_rq_total', 'counter', 5],
      ['server.state', 'gauge', 2],
      ['listener_manager.workers_started', 'gauge', 1],
      ['cluster.x.upstream_rq_retry', 'counter', 1],
    ]);
    expect(stats.text()).toBe(
      [
        'cluster.x.upstream_rq_retry: 1',
        'http.inbound.downstream_rq_total: 8',
        'listener_manager.workers_started: 2',
        'server.state: 0',
        'server.worker_0.downstream_rq_total: 3',
        'server.worker_1.downstream_rq_total: 5',
        '',
      ].join('\n'),
    );
    // A newer snapshot replaces the older one rather than adding to it.
    stats.setWorker(1, [['http.inbound.downstream_rq_total', 'counter', 6]]);
    expect(stats.text(/^http\.inbound\.downstream_rq_total$/)).toBe('http.inbound.downstream_rq_total: 9\n');
    expect(stats.prometheus()).toContain('envoy_http_inbound_downstream_rq_total 9');
  });

  it('shows only its own values without workers', () => {
    const stats = new Stats();
    stats.counter('a').inc();
    expect(stats.text()).toBe('a: 1\n');
    expect(stats.snapshot()).toEqual([['a', 'counter', 1]]);
  });
});

describe('sampled gauges', () => {
  it('are brought up to date before every read: text, Prometheus and a worker snapshot', () => {
    const stats = new Stats();
    const gauge = stats.gauge('server.memory_physical_size');
    let reads = 0;
    stats.sampleOnRead(() => gauge.set(1000 * ++reads));
    expect(stats.text()).toBe('server.memory_physical_size: 1000\n');
    expect(stats.prometheus()).toContain('envoy_server_memory_physical_size 2000');
    expect(stats.snapshot()).toEqual([['server.memory_physical_size', 'gauge', 3000]]);
  });
});
