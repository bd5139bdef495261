/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package, heaviest first.
 *   node bench/profile-summary.ts FILE.cpuprofile [--top 30]
 */
import { parseArgs } from 'node:util';
import { readProfile } from './cpuprofile.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
const { byId, self } = readProfile(positionals[0]!);
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  if (!url) return '(native/idle)';
  const m = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const w = /packages\/([^/]+)\//.exec(url);
  if (w) return `@waypoint/${w[1]}`;
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
};
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  const key = `${name} ${where(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  fn.set(key, (fn.get(key) ?? 0) + t);
  const p = ['(garbage collector)', '(program)', '(idle)'].includes(name) ? name : where(n.callFrame.url);
  pkg.set(p, (pkg.get(p) ?? 0) + t);
}
const pct = (t: number) => `${((100 * t) / total).toFixed(1)}%`;
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s\n\nself time by package:`);
for (const [k, t] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
console.log('\nself time by function:');
for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${pct(t).padStart(6)}  ${k}`);
