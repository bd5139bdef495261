/**
 * Renders a V8 .cpuprofile (node --cpu-prof) as a flame graph SVG: each box is a function in a call stack,
 * as wide as the time spent in it and in what it called; callers below, callees above. Idle time and
 * frames under --min-percent of the total are left out (their time stays in the caller's width).
 *
 *   node bench/flamegraph.ts FILE.cpuprofile [--title TEXT] [--min-percent 0.2] > flame.svg
 */
import { parseArgs } from 'node:util';
import { readProfile, type ProfileNode } from './cpuprofile.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { title: { type: 'string' }, 'min-percent': { type: 'string', default: '0.2' } },
});
const profile = readProfile(positionals[0]!);
const { byId, self } = profile;

const label = (n: ProfileNode): string => {
  const name = n.callFrame.functionName || '(anonymous)';
  const url = n.callFrame.url;
  if (!url) return name;
  const m = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  const where = m ? `${m[1]}/${m[2]!.split('/').pop()}` : url.startsWith('node:') ? url : url.split('/').slice(-3).join('/');
  return `${name} ${where}:${n.callFrame.lineNumber + 1}`;
};

/** Total time of a node: its own samples and all its descendants', idle excluded. */
const totals = new Map<number, number>();
function total(id: number): number {
  const cached = totals.get(id);
  if (cached !== undefined) return cached;
  const n = byId.get(id)!;
  const name = n.callFrame.functionName;
  let t = name === '(idle)' || name === '(program)' ? 0 : (self.get(id) ?? 0);
  for (const c of n.children ?? []) t += total(c);
  totals.set(id, t);
  return t;
}
const root = profile.nodes[0]!;
const all = total(root.id);
const minTime = (all * Number(values['min-percent'])) / 100;

const WIDTH = 1600;
const ROW = 17;
const boxes: { x: number; w: number; depth: number; text: string; t: number }[] = [];
let maxDepth = 0;
function layout(id: number, x: number, depth: number): void {
  const n = byId.get(id)!;
  const t = totals.get(id)!;
  if (t < minTime) return;
  const w = (t / all) * WIDTH;
  if (depth > 0) boxes.push({ x, w, depth, text: label(n), t });
  maxDepth = Math.max(maxDepth, depth);
  let cx = x;
  const children = [...(n.children ?? [])].sort((a, b) => label(byId.get(a)!).localeCompare(label(byId.get(b)!)));
  for (const c of children) {
    layout(c, cx, depth + 1);
    cx += (totals.get(c)! / all) * WIDTH;
  }
}
layout(root.id, 0, 0);

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Warm colours by package, so that one library's frames read as one band. */
function colour(text: string): string {
  let h = 0;
  const key = text.split(' ')[1]?.split('/')[0] ?? text;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return `hsl(${10 + (h % 45)}, ${70 + (h % 20)}%, ${55 + (h % 15)}%)`;
}
const height = (maxDepth + 2) * ROW + 30;
const out: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
  `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
  `<text x="6" y="16" font-size="13">${escape(values.title ?? positionals[0]!)} — ${(all / 1e6).toFixed(2)} s on CPU (idle excluded); boxes under ${values['min-percent']}% omitted</text>`,
];
for (const b of boxes) {
  const y = height - (b.depth + 1) * ROW;
  const pct = ((100 * b.t) / all).toFixed(2);
  out.push(`<g><title>${escape(b.text)} (${pct}%)</title><rect x="${b.x.toFixed(2)}" y="${y}" width="${Math.max(0.5, b.w - 0.5).toFixed(2)}" height="${ROW - 1}" fill="${colour(b.text)}"/>`);
  const chars = Math.floor((b.w - 4) / 6.6);
  if (chars >= 3) out.push(`<text x="${(b.x + 2).toFixed(2)}" y="${y + 12}">${escape(b.text.length > chars ? `${b.text.slice(0, chars - 1)}…` : b.text)}</text>`);
  out.push('</g>');
}
out.push('</svg>');
process.stdout.write(`${out.join('\n')}\n`);
