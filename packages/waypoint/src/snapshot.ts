import { loadConfig, type ConfigIR, type Diagnostic } from '@waypoint/config';
import { Router } from '@waypoint/routing';
import { readConfig } from './config-files.ts';

/** One immutable config generation: what every request reads, start to finish. */
export interface Snapshot {
  version: number;
  loadedAt: Date;
  ir: ConfigIR;
  router: Router;
  warnings: Diagnostic[];
}

export type LoadOutcome = { ok: true; snapshot: Snapshot; unchanged: boolean } | { ok: false; diagnostics: Diagnostic[] };

export interface StoreCounters {
  loadSuccess: number;
  loadRejected: number;
}

/** Holds the snapshot in force; a reload either swaps it whole or leaves it untouched. */
export class SnapshotStore {
  #current: Snapshot | undefined;
  #lastText = '';
  readonly counters: StoreCounters = { loadSuccess: 0, loadRejected: 0 };
  lastRejection: { at: Date; diagnostics: Diagnostic[] } | undefined;

  readonly #paths: readonly string[];
  readonly #namespace: string;

  constructor(paths: readonly string[], namespace: string) {
    this.#paths = paths;
    this.#namespace = namespace;
  }

  get current(): Snapshot | undefined {
    return this.#current;
  }

  load(): LoadOutcome {
    const read = readConfig(this.#paths);
    if (read.diagnostics.length) return this.#reject(read.diagnostics);
    const text = JSON.stringify(read.files);
    if (this.#current && text === this.#lastText) {
      this.lastRejection = undefined;
      return { ok: true, snapshot: this.#current, unchanged: true };
    }
    const result = loadConfig(read.files, { defaultNamespace: this.#namespace });
    if (!result.ir) return this.#reject(result.diagnostics);
    let router: Router;
    try {
      router = new Router(result.ir, { namespace: this.#namespace });
    } catch (e) {
      return this.#reject([{ severity: 'error', file: this.#paths.join(','), line: 1, col: 1, message: `cannot compile routes: ${(e as Error).message}` }]);
    }
    const snapshot: Snapshot = {
      version: (this.#current?.version ?? 0) + 1,
      loadedAt: new Date(),
      ir: result.ir,
      router,
      warnings: result.diagnostics,
    };
    this.#current = snapshot;
    this.#lastText = text;
    this.counters.loadSuccess++;
    this.lastRejection = undefined;
    return { ok: true, snapshot, unchanged: false };
  }

  #reject(diagnostics: Diagnostic[]): LoadOutcome {
    this.counters.loadRejected++;
    this.lastRejection = { at: new Date(), diagnostics };
    return { ok: false, diagnostics };
  }
}
