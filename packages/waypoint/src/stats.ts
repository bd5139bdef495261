export type StatsSnapshot = [name: string, kind: 'counter' | 'gauge', value: number][];

/**
 * Envoy-named counters and gauges, shown by the admin `/stats` and, Prometheus-style, on the stats port.
 * With worker processes, their latest snapshots are added in: counters and gauges sum across processes
 * (server.state and listener_manager.workers_started are the main process's own).
 */
export class Stats {
  readonly #values = new Map<string, { kind: 'counter' | 'gauge'; value: number }>();
  readonly #workers = new Map<number, StatsSnapshot>();
  /** Set values that are sampled rather than counted (memory), just before the stats are read. */
  readonly #samplers: (() => void)[] = [];

  /** Calls `sample` before every read of the stats, to bring sampled gauges up to date. */
  sampleOnRead(sample: () => void): void {
    this.#samplers.push(sample);
  }

  #sample(): void {
    for (const s of this.#samplers) s();
  }

  /** This process's own values, for a worker to send to the main process. */
  snapshot(): StatsSnapshot {
    this.#sample();
    return [...this.#values].map(([name, m]) => [name, m.kind, m.value]);
  }

  /** The latest snapshot of worker `id`. */
  setWorker(id: number, snapshot: StatsSnapshot): void {
    this.#workers.set(id, snapshot);
  }

  /** Every value, this process's and the workers' summed. */
  #merged(): Map<string, { kind: 'counter' | 'gauge'; value: number }> {
    this.#sample();
    if (this.#workers.size === 0) return this.#values;
    const out = new Map([...this.#values].map(([k, m]) => [k, { ...m }]));
    // Per process, as Envoy keeps per-worker listener stats: worker 0 is the main process.
    const REQUESTS = 'http.inbound.downstream_rq_total';
    out.set('server.worker_0.downstream_rq_total', { kind: 'counter', value: this.#values.get(REQUESTS)?.value ?? 0 });
    for (const [id, snap] of this.#workers) {
      out.set(`server.worker_${id}.downstream_rq_total`, { kind: 'counter', value: snap.find(([n]) => n === REQUESTS)?.[2] ?? 0 });
      for (const [name, kind, value] of snap) {
        if (name === 'server.state' || name === 'listener_manager.workers_started') continue;
        const m = out.get(name);
        if (m) m.value += value;
        else out.set(name, { kind, value });
      }
    }
    return out;
  }

  counter(name: string): { inc(n?: number): void; readonly value: number } {
    return this.#metric(name, 'counter');
  }

  gauge(name: string): { inc(n?: number): void; dec(n?: number): void; set(n: number): void; readonly value: number } {
    return this.#metric(name, 'gauge');
  }

  #metric(name: string, kind: 'counter' | 'gauge') {
    let m = this.#values.get(name);
    if (!m) {
      m = { kind, value: 0 };
      this.#values.set(name, m);
    }
    const cell = m;
    return {
      inc: (n = 1) => void (cell.value += n),
      dec: (n = 1) => void (cell.value -= n),
      set: (n: number) => void (cell.value = n),
      get value() {
        return cell.value;
      },
    };
  }

  /** Envoy's `/stats` text: `name: value`, sorted, optionally filtered by a regex. */
  text(filter?: RegExp, usedOnly = false): string {
    const lines: string[] = [];
    for (const [name, m] of [...this.#merged()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (filter && !filter.test(name)) continue;
      if (usedOnly && m.kind === 'counter' && m.value === 0) continue;
      lines.push(`${name}: ${m.value}`);
    }
    return lines.join('\n') + (lines.length ? '\n' : '');
  }

  /** Prometheus text exposition, names prefixed `envoy_` and dots made underscores, as Envoy does. */
  prometheus(): string {
    const out: string[] = [];
    for (const [name, m] of [...this.#merged()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const prom = `envoy_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
      out.push(`# TYPE ${prom} ${m.kind}`, `${prom} ${m.value}`);
    }
    return out.join('\n') + '\n';
  }
}
