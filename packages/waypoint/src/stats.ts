/** Envoy-named counters and gauges, shown by the admin `/stats` and, Prometheus-style, on the stats port. */
export class Stats {
  readonly #values = new Map<string, { kind: 'counter' | 'gauge'; value: number }>();

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
    for (const [name, m] of [...this.#values].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (filter && !filter.test(name)) continue;
      if (usedOnly && m.kind === 'counter' && m.value === 0) continue;
      lines.push(`${name}: ${m.value}`);
    }
    return lines.join('\n') + (lines.length ? '\n' : '');
  }

  /** Prometheus text exposition, names prefixed `envoy_` and dots made underscores, as Envoy does. */
  prometheus(): string {
    const out: string[] = [];
    for (const [name, m] of [...this.#values].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const prom = `envoy_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
      out.push(`# TYPE ${prom} ${m.kind}`, `${prom} ${m.value}`);
    }
    return out.join('\n') + '\n';
  }
}
