/**
 * Writes each package's JavaScript next to its TypeScript: packages/<p>/src/**\/*.ts → packages/<p>/build/**\/*.js,
 * types stripped in place (line and column numbers unchanged) and relative `.ts` imports pointing at `.js`.
 * bin/waypoint runs this build when it is newer than every source file, so the process does not load
 * Node's TypeScript support (about 30 MB of memory per process and a slower start); otherwise it runs
 * the sources themselves. Packages export the build under the condition `waypoint-build`.
 *   node scripts/build.ts [--if-stale]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['config', 'routing', 'hbone', 'waypoint'];
const STAMP = join(ROOT, 'packages', '.build-stamp');

/** `from './x.ts'`, `import('./x.ts')`, `export … from '../y.ts'`: the same length, so positions hold. */
const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*)\.ts(['"])/g;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

function* tsFiles(dir: string): Generator<string> {
  for (const file of files(dir)) if (file.endsWith('.ts') && !file.endsWith('.d.ts')) yield file;
}

/** One module's JavaScript: types stripped (whitespace in their place) and relative imports of `.ts` files made `.js`. */
export function toJavaScript(typescript: string): string {
  return stripTypeScriptTypes(typescript, { mode: 'strip' }).replace(RELATIVE_TS, '$1$2.js$3');
}

/** Whether any file of a package's sources, or its manifest, is newer than the last build (or there is none): bin/waypoint's own test. */
export function buildIsStale(): boolean {
  let built: number;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  return PACKAGES.some((pkg) => statSync(join(ROOT, 'packages', pkg, 'package.json')).mtimeMs > built || [...files(join(ROOT, 'packages', pkg, 'src'))].some((f) => statSync(f).mtimeMs > built));
}

// `--if-stale`: only when bin/waypoint would not run the build as it is.
if (import.meta.main && (!process.argv.includes('--if-stale') || buildIsStale())) build();

function build(): void {
  // Without a stamp bin/waypoint runs the sources, so an interrupted build is never run half-written.
  rmSync(STAMP, { force: true });
  let count = 0;
  for (const pkg of PACKAGES) {
    const src = join(ROOT, 'packages', pkg, 'src');
    const out = join(ROOT, 'packages', pkg, 'build');
    rmSync(out, { recursive: true, force: true });
    for (const file of tsFiles(src)) {
      const js = toJavaScript(readFileSync(file, 'utf8'));
      const target = join(out, relative(src, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, js);
      count++;
    }
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  console.error(`build: ${count} files`);
}
