import type { FSWatcher } from 'node:fs';
import { fs } from './builtins.ts';
import { dirname, resolve } from 'node:path';
import { configFingerprint } from './config-files.ts';

export interface ConfigWatchOptions {
  /** How often to compare fingerprints, as a backstop for events the OS does not deliver. */
  pollMs?: number;
  /** Quiet time after an event before reloading, so an editor's several writes make one reload. */
  debounceMs?: number;
}

/**
 * Calls `onChange` when any config path changes: inotify events (on the directories, so that editors'
 * rename-into-place and Kubernetes' ConfigMap symlink swaps are seen) plus a periodic fingerprint check.
 */
export class ConfigWatcher {
  readonly #paths: readonly string[];
  readonly #onChange: () => void;
  readonly #watchers: FSWatcher[] = [];
  readonly #debounceMs: number;
  #fingerprint: string;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout;

  constructor(paths: readonly string[], onChange: () => void, options: ConfigWatchOptions = {}) {
    this.#paths = paths;
    this.#onChange = onChange;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#fingerprint = configFingerprint(paths);
    for (const dir of new Set(paths.map(watchedDirectory))) {
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.#schedule());
        w.on('error', () => undefined); // the poll keeps watching when a directory disappears
        this.#watchers.push(w);
      } catch {
        // a missing directory is caught by the poll once it appears
      }
    }
    this.#poll = setInterval(() => this.#check(), options.pollMs ?? 500);
    this.#poll.unref();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    // An event always reloads (the store skips identical text): mtime and size can miss a same-size edit.
    this.#timer = setTimeout(() => this.#fire(), this.#debounceMs);
    this.#timer.unref();
  }

  #check(): void {
    if (configFingerprint(this.#paths) !== this.#fingerprint) this.#fire();
  }

  #fire(): void {
    this.#fingerprint = configFingerprint(this.#paths);
    this.#onChange();
  }

  close(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    for (const w of this.#watchers) w.close();
  }
}

function watchedDirectory(path: string): string {
  const abs = resolve(path);
  try {
    if (fs.statSync(abs).isDirectory()) return abs;
  } catch {
    // fall through to the parent
  }
  return dirname(abs);
}
