/**
 * What the waypoint's resident memory is made of: memory of its own (anonymous: the V8 heap, Buffers,
 * malloc) against pages of files it maps (the node binary, shared libraries), which the kernel can
 * drop and read again and which every Node.js process on the machine shares.
 *
 *   node bench/rss-breakdown.ts [--seconds 10] [--rate 1000]
 *
 * Starts a 1 KB backend and `bin/waypoint` (plain mode, one process, default flags), reads
 * /proc/PID/status and /proc/PID/smaps once idle and once after --seconds of --rate requests/s
 * (bench/loadgen.ts, even arrivals over 64 connections), and prints both with the largest mappings,
 * and the same figures of a bare Node.js process for scale.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchServiceConfig } from './generated-config.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rate: { type: 'string', default: '1000' } } });
const ROOT = join(import.meta.dirname, '..');
const BODY = Buffer.alloc(1024, 'x');

const backend = createServer((_req, res) => res.end(BODY));
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendPort = (backend.address() as AddressInfo).port;
const dir = mkdtempSync(join(tmpdir(), 'waypoint-rss-'));
writeFileSync(join(dir, 'config.yaml'), benchServiceConfig('10.96.0.2', '127.0.0.1', backendPort));

const args = ['run', '--config', dir, '--http-listen', '127.0.0.1:0', '--hbone-listen', 'off', '--upstream', 'plain', '--admin', 'off', '--health', 'off', '--stats', '127.0.0.1:0', '--log-level', 'info'];
const wp: ChildProcess = spawn(join(ROOT, 'bin', 'waypoint'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise<number>((resolve, reject) => {
  let buf = '';
  const timer = setTimeout(() => reject(new Error(`the waypoint did not start: ${buf}`)), 30_000);
  wp.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const m = /"listener":"http [^"]*","address":"127\.0\.0\.1:(\d+)"/.exec(buf);
    if (m) {
      clearTimeout(timer);
      resolve(Number(m[1]));
    }
  });
});

interface Breakdown {
  rss: number;
  anon: number;
  file: number;
  mappings: { kb: number; name: string }[];
}

/** kB figures of one process from /proc: RssAnon/RssFile, and resident kB per mapped file (anonymous mappings together). */
function breakdown(pid: number): Breakdown {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  const byName = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1] || '(anonymous)';
    else if (line.startsWith('Rss:')) byName.set(name, (byName.get(name) ?? 0) + Number(line.split(/\s+/)[1]));
  }
  const mappings = [...byName].map(([n, kb]) => ({ kb, name: n })).sort((a, b) => b.kb - a.kb).slice(0, 6);
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), mappings };
}

// bin/waypoint execs node, so the child's pid is the waypoint's.
const pid = wp.pid!;
await new Promise((r) => setTimeout(r, 3000));
const idle = breakdown(pid);
// Not spawnSync: the backend answers from this process's event loop.
const loadgen = spawn(process.execPath, [join(ROOT, 'bench', 'loadgen.ts'), '--target', `127.0.0.1:${port}`, '--rate', values.rate, '--duration', values.seconds], { stdio: ['ignore', 'pipe', 'inherit'] });
let loadOut = '';
loadgen.stdout!.setEncoding('utf8').on('data', (d: string) => (loadOut += d));
await new Promise((r) => loadgen.once('exit', r));
const loaded = breakdown(pid);
wp.kill('SIGTERM');
// For scale: a Node.js process of the same binary that has loaded nothing.
const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 2000));
const bareFigures = breakdown(bare.pid!);
bare.kill();
backend.close();
rmSync(dir, { recursive: true, force: true });

const mb = (kb: number) => (kb / 1024).toFixed(1);
const rows = (label: string, b: Breakdown) => [
  `| ${label} | ${mb(b.rss)} | ${mb(b.anon)} | ${mb(b.file)} | ${b.mappings.map((m) => `${m.name.split('/').pop()} ${mb(m.kb)}`).join(', ')} |`,
];
process.stdout.write(
  [
    `Node ${process.version}; \`node bench/rss-breakdown.ts --seconds ${values.seconds} --rate ${values.rate}\`; load: ${loadOut.trim()}`,
    '',
    '| when | RSS (MB) | anonymous (MB) | file-backed (MB) | largest mappings (MB) |',
    '|---|---|---|---|---|',
    ...rows('idle', idle),
    ...rows(`after ${values.seconds} s at ${values.rate} rps`, loaded),
    ...rows('bare `node -e` (same binary, for scale)', bareFigures),
    '',
  ].join('\n'),
);
