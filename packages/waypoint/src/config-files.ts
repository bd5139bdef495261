import { fs } from './builtins.ts';
import { join } from 'node:path';
import type { ConfigText, Diagnostic } from '@waypoint/config';

const YAML_FILE = /\.(ya?ml|json)$/i;

export interface ConfigRead {
  files: ConfigText[];
  /** Paths that could not be read; any of them makes the read unusable. */
  diagnostics: Diagnostic[];
}

function readError(file: string, e: unknown): Diagnostic {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
  return { severity: 'error', file, line: 1, col: 1, message: `cannot read config: ${why}` };
}

/** The YAML files a config path names: the file itself, or a directory's *.yaml/*.yml/*.json (not recursive, hidden ones skipped). */
export function listConfigFiles(path: string): string[] {
  const st = fs.statSync(path);
  if (!st.isDirectory()) return [path];
  return fs.readdirSync(path)
    .filter((n) => YAML_FILE.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(path, n))
    .filter((f) => fs.statSync(f).isFile());
}

/** Reads every config path; a path that is missing or unreadable is an error, never silently dropped. */
export function readConfig(paths: readonly string[]): ConfigRead {
  const out: ConfigRead = { files: [], diagnostics: [] };
  for (const path of paths) {
    let files: string[];
    try {
      files = listConfigFiles(path);
    } catch (e) {
      out.diagnostics.push(readError(path, e));
      continue;
    }
    for (const file of files) {
      try {
        out.files.push({ file, text: fs.readFileSync(file, 'utf8') });
      } catch (e) {
        out.diagnostics.push(readError(file, e));
      }
    }
  }
  return out;
}

/** A cheap fingerprint of the config paths (names, sizes, mtimes, inodes) to notice edits without reading. */
export function configFingerprint(paths: readonly string[]): string {
  const parts: string[] = [];
  for (const path of paths) {
    try {
      for (const f of listConfigFiles(path)) {
        const st = fs.statSync(f);
        parts.push(`${f}:${st.size}:${st.mtimeMs}:${st.ino}:${st.mode}`);
      }
    } catch (e) {
      parts.push(`${path}:${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return parts.join('|');
}
