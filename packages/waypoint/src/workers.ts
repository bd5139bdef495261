import type { ChildProcess } from 'node:child_process';
import type { Logger, LogLevel } from './logger.ts';
import type { RunOptions } from './cli.ts';
import type { Stats, StatsSnapshot } from './stats.ts';

/** How often a worker sends its counters to the main process. */
export const WORKER_STATS_INTERVAL_MS = 1000;

/** A worker's counters, every second, with the log level it is at. */
export type WorkerMessage = { type: 'stats'; snapshot: StatsSnapshot; logLevel: LogLevel };
/** From the main process to its workers: the log level the admin API's /logging set. */
export type MainMessage = { type: 'log-level'; level: LogLevel };

/**
 * `--concurrency N`: N-1 worker processes next to the main one, each a whole data plane (its own event
 * loop, config snapshot and upstream pools) listening on the same ports with SO_REUSEPORT, so the kernel
 * spreads connections across them. The main process alone serves admin, readiness and stats; the
 * workers' counters reach it every second and are summed into /stats. A worker that dies is started
 * again; on drain every worker drains too.
 */
export class Workers {
  readonly #children = new Map<number, ChildProcess>();
  readonly #options: RunOptions;
  readonly #count: number;
  readonly #stats: Stats;
  readonly #log: Logger;
  readonly #onCountChange: (n: number) => void;
  #stopping = false;

  constructor(count: number, options: RunOptions, stats: Stats, log: Logger, onCountChange: (live: number) => void) {
    this.#count = count;
    this.#options = options;
    this.#stats = stats;
    this.#log = log;
    this.#onCountChange = onCountChange;
  }

  start(): void {
    for (let id = 1; id <= this.#count; id++) this.#spawn(id);
  }

  #spawn(id: number): void {
    // Loaded here, not imported: only a waypoint with --concurrency above 1 forks.
    const child = process.getBuiltinModule('node:child_process').fork(process.argv[1]!, ['worker'], {
      env: { ...process.env, WAYPOINT_WORKER: String(id), WAYPOINT_WORKER_OPTIONS: JSON.stringify(this.#options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#children.set(id, child);
    this.#onCountChange(this.#children.size);
    child.on('message', (m: WorkerMessage) => {
      if (m?.type !== 'stats') return;
      this.#stats.setWorker(id, m.snapshot);
      // A worker that was starting when the level changed missed the message: it gets it now.
      if (m.logLevel !== this.#options.logLevel) this.#sendLogLevel(child);
    });
    child.once('exit', (code, signal) => {
      this.#children.delete(id);
      this.#onCountChange(this.#children.size);
      if (this.#stopping) return;
      this.#log.error({ worker: id, code, signal }, `worker ${id} exited (${signal ?? `code ${code}`}); starting it again`);
      setTimeout(() => !this.#stopping && this.#spawn(id), 1000).unref();
    });
  }

  /** Every worker logs at `level` from now on, and a worker started again later starts with it. */
  setLogLevel(level: LogLevel): void {
    this.#options.logLevel = level;
    for (const child of this.#children.values()) this.#sendLogLevel(child);
  }

  #sendLogLevel(child: ChildProcess): void {
    // A worker going away as this is sent misses it; the callback keeps that from being an 'error' event.
    if (child.connected) child.send({ type: 'log-level', level: this.#options.logLevel } satisfies MainMessage, () => undefined);
  }

  /** Drains every worker (SIGTERM) and waits for them to exit, at most `graceMs` plus a second. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#children.values()].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
    for (const c of this.#children.values()) c.kill('SIGTERM');
    const deadline = new Promise<void>((r) => setTimeout(r, graceMs + 1000).unref());
    await Promise.race([Promise.all(exits), deadline]);
    for (const c of this.#children.values()) c.kill('SIGKILL');
  }
}
