/**
 * Config reload under traffic: how long a reload of a large config keeps the waypoint from answering.
 *
 *   node bench/reload.ts [--routes 5000] [--services 500] [--runs 3] [--out FILE.md]
 *
 * Writes the route benchmark's generated config (bench/generated-config.ts) plus one Service backed by a
 * local echo server, starts `bin/waypoint` on it (one process, plain HTTP), and sends one request at a
 * time on a kept-alive connection, back to back, to that Service. Each run rewrites the config file with
 * one route changed and waits until the waypoint logs the new version in force. Reported per run: the
 * time from the write to "in force", and the request latency (median before the reload; maximum while
 * it is loaded), which is how long the event loop was busy with the reload.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateRouteConfig } from './generated-config.ts';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '5000' },
    services: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const ROUTES = Number(values.routes);
const SERVICES = Number(values.services);
const RUNS = Number(values.runs);
const WAYPOINT = join(import.meta.dirname, '..', 'bin', 'waypoint');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};

const echo: Server = createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const echoPort = (echo.address() as AddressInfo).port;

const probe = `apiVersion: v1
kind: Service
metadata: { name: probe, namespace: default }
spec: { clusterIP: 10.95.0.1, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: probe-a, namespace: default, labels: { kubernetes.io/service-name: probe } }
addressType: IPv4
ports: [{ name: http, port: ${echoPort} }]
endpoints: [{ addresses: [127.0.0.1] }]`;
const base = generateRouteConfig(ROUTES, SERVICES);
const configText = (version: number) => `${probe}\n---\n${base.replace('/api/r0/status', `/api/r0/status-${version}`)}\n`;

const dir = mkdtempSync(join(tmpdir(), 'waypoint-reload-'));
const file = join(dir, 'config.yaml');
writeFileSync(file, configText(0));
const bytes = Buffer.byteLength(configText(0));

const child = spawn(WAYPOINT, ['run', '--config', dir, '--http-listen', '127.0.0.1:0=80', '--admin', 'off', '--stats', 'off', '--health', 'off', '--hbone-listen', 'off', '--upstream', 'plain'], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
const logs: { msg: string; at: number; [k: string]: unknown }[] = [];
let partial = '';
child.stderr!.setEncoding('utf8').on('data', (d: string) => {
  partial += d;
  const lines = partial.split('\n');
  partial = lines.pop() ?? '';
  for (const text of lines) {
    try {
      logs.push({ ...(JSON.parse(text) as { msg: string }), at: performance.now() });
    } catch {
      // not a log line
    }
  }
});
const waitFor = async (test: (l: (typeof logs)[number]) => boolean, ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const found = logs.find(test);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no matching log line within ${ms} ms`);
};

const startLine = await waitFor((l) => String(l.listener ?? '').startsWith('http '), 120_000);
const port = Number(String(startLine.address).split(':').pop());
await waitFor((l) => l.msg.startsWith('config version 1 in force'), 120_000);

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = () =>
  new Promise<number>((resolve, reject) => {
    const t = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: 'probe' }, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });

interface Run {
  inForceMs: number;
  beforeMedianMs: number;
  maxDuringMs: number;
}
const runs: Run[] = [];
for (let run = 1; run <= RUNS; run++) {
  const samples: { at: number; ms: number }[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const at = performance.now();
      samples.push({ at, ms: await get() });
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  const version = run + 1;
  const written = performance.now();
  writeFileSync(file, configText(run));
  const inForce = await waitFor((l) => l.msg.startsWith(`config version ${version} in force`), 120_000);
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;
  await loop;
  const before = samples.filter((s) => s.at < written).map((s) => s.ms);
  const during = samples.filter((s) => s.at + s.ms >= written && s.at <= inForce.at).map((s) => s.ms);
  runs.push({ inForceMs: inForce.at - written, beforeMedianMs: median(before), maxDuringMs: Math.max(...during) });
  process.stderr.write(`run ${run}: in force after ${runs.at(-1)!.inForceMs.toFixed(0)} ms, longest request ${runs.at(-1)!.maxDuringMs.toFixed(0)} ms\n`);
}

child.kill('SIGKILL');
agent.destroy();
echo.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (xs: number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join(', ');
const text = [
  `# Config reload under traffic — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Command: \`node bench/reload.ts --routes ${ROUTES} --services ${SERVICES} --runs ${RUNS}\``,
  '',
  `Node ${process.version}; one waypoint process; ${ROUTES} HTTPRoutes over ${SERVICES} Services, ${(bytes / 1024 / 1024).toFixed(1)} MiB of YAML; one`,
  'request at a time, back to back, on one kept-alive connection, while the file is rewritten with one route changed.',
  '',
  '| figure | median of runs | runs |',
  '|---|---|---|',
  `| write → new version in force (ms) | ${median(runs.map((r) => r.inForceMs)).toFixed(0)} | ${fmt(runs.map((r) => r.inForceMs))} |`,
  `| request latency before the reload, median (ms) | ${median(runs.map((r) => r.beforeMedianMs)).toFixed(2)} | ${fmt(runs.map((r) => r.beforeMedianMs), 2)} |`,
  `| longest request while it loads (ms) | ${median(runs.map((r) => r.maxDuringMs)).toFixed(0)} | ${fmt(runs.map((r) => r.maxDuringMs))} |`,
  '',
].join('\n');
process.stdout.write(`${text}\n`);
if (values.out) writeFileSync(values.out, text);
