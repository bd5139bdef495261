import { loadConfig, type ConfigIR, type ConfigText, type Diagnostic, type LoadResult } from '@waypoint/config';
import { Router } from '@waypoint/routing';
import { readConfig } from './config-files.ts';
import { fromParts, type LoadResultParts } from './config-transfer.ts';
import { crypto } from './builtins.ts';

/**
 * Configs at least this large (bytes of YAML) are loaded in a worker thread, at startup and on reload: loading 5 MiB takes
 * about 1 s here, time in which the main thread would answer no request.
 */
export const LOAD_IN_WORKER_BYTES = 256 * 1024;
const WORKER_FILE = new URL(import.meta.url.endsWith('.ts') ? './config-worker.ts' : './config-worker.js', import.meta.url);

/** `loadConfig` in a short-lived worker thread. */
function loadInWorker(files: ConfigText[], namespace: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Loaded here, not imported: most configs are loaded on the main thread, and worker_threads is not needed.
    const worker = new (process.getBuiltinModule('node:worker_threads').Worker)(WORKER_FILE, { workerData: { files, namespace } });
    const exited = (code: number) => reject(new Error(`config loader exited (code ${code}) without a result`));
    worker.once('message', (parts: LoadResultParts) => {
      // The worker's part is done; its exit (terminate) must not fail the parts still being read.
      worker.off('exit', exited);
      void worker.terminate();
      fromParts(parts).then(resolve, reject);
    });
    worker.once('error', reject);
    worker.once('exit', exited);
  });
}

/** One immutable config generation: what every request reads, start to finish. */
export interface Snapshot {
  version: number;
  loadedAt: Date;
  ir: ConfigIR;
  router: Router;
  warnings: Diagnostic[];
  /** Where the config was parsed, validated and translated: on the main thread, or in a worker thread. */
  loader: 'main' | 'worker';
}

export type LoadOutcome = { ok: true; snapshot: Snapshot; unchanged: boolean } | { ok: false; diagnostics: Diagnostic[] };

export interface StoreCounters {
  loadSuccess: number;
  loadRejected: number;
}

/** Holds the snapshot in force; a reload either swaps it whole or leaves it untouched. */
export class SnapshotStore {
  #current: Snapshot | undefined;
  /** Digest of the files of the snapshot in force: a reload of the same files keeps it (the text itself is not held). */
  #lastDigest = '';
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

  /**
   * Reads and loads the config: on this thread when it is smaller than `workerBytes`; otherwise parsed,
   * validated and translated in a worker thread and its route tables built in slices, so that the event
   * loop keeps serving meanwhile. Loads of one store must not overlap: the caller awaits each.
   */
  async loadAsync(workerBytes = LOAD_IN_WORKER_BYTES): Promise<LoadOutcome> {
    const read = this.#read();
    if ('outcome' in read) return read.outcome;
    if (read.files.reduce((n, f) => n + f.text.length, 0) < workerBytes) return this.#loadHere(read.files, read.digest);
    let result: LoadResult;
    try {
      result = await loadInWorker(read.files, this.#namespace);
    } catch (e) {
      return this.#reject([{ severity: 'error', file: this.#paths.join(','), line: 1, col: 1, message: `cannot load the config: ${(e as Error).message}` }]);
    }
    if (!result.ir) return this.#reject(result.diagnostics);
    let router: Router;
    try {
      router = await Router.build(result.ir, { namespace: this.#namespace });
    } catch (e) {
      return this.#compileFailed(e);
    }
    return this.#swap(read.digest, result.ir, result.diagnostics, router, 'worker');
  }

  /** The config files, or the outcome when there is nothing to load (unreadable, or unchanged). */
  #read(): { files: ConfigText[]; digest: string } | { outcome: LoadOutcome } {
    const read = readConfig(this.#paths);
    if (read.diagnostics.length) return { outcome: this.#reject(read.diagnostics) };
    const digest = crypto.createHash('sha256').update(JSON.stringify(read.files)).digest('base64');
    if (this.#current && digest === this.#lastDigest) {
      this.lastRejection = undefined;
      return { outcome: { ok: true, snapshot: this.#current, unchanged: true } };
    }
    return { files: read.files, digest };
  }

  #loadHere(files: ConfigText[], digest: string): LoadOutcome {
    const result = loadConfig(files, { defaultNamespace: this.#namespace });
    if (!result.ir) return this.#reject(result.diagnostics);
    let router: Router;
    try {
      router = new Router(result.ir, { namespace: this.#namespace });
    } catch (e) {
      return this.#compileFailed(e);
    }
    return this.#swap(digest, result.ir, result.diagnostics, router, 'main');
  }

  #compileFailed(e: unknown): LoadOutcome {
    return this.#reject([{ severity: 'error', file: this.#paths.join(','), line: 1, col: 1, message: `cannot compile routes: ${(e as Error).message}` }]);
  }

  #swap(digest: string, ir: ConfigIR, warnings: Diagnostic[], router: Router, loader: Snapshot['loader']): LoadOutcome {
    const snapshot: Snapshot = {
      version: (this.#current?.version ?? 0) + 1,
      loadedAt: new Date(),
      ir,
      router,
      warnings,
      loader,
    };
    this.#current = snapshot;
    this.#lastDigest = digest;
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
