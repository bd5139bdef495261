/**
 * The benchmark: one 1 KB backend (nginx) and, on loopback, the same load sent direct, through the
 * waypoint (plain HTTP, and HBONE in and out), and through nginx, HAProxy and a bare Node `http` proxy
 * (bench/node-proxy.ts) as equivalent proxies.
 *   node bench/run.ts [--runs 3] [--seconds 10] [--only waypoint,haproxy] [--profile]
 * `--only node-relay,node-raw-http,node-http-server` adds the Node.js floors of bench/node-floor.ts.
 * Writes bench/results/<date>.{md,json,svg}. See bench/README.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { svgChart } from './chart.ts';
import { benchServiceConfig, generateRouteConfig, generateRouteRequests, requestText } from './generated-config.ts';
import { toJavaScript } from '../scripts/build.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WAYPOINT = join(ROOT, 'bin', 'waypoint');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    /** NAME=FLAGS: one more plain-mode waypoint target run with those Node.js/V8 flags (WAYPOINT_NODE_FLAGS), for A/B. */
    variant: { type: 'string', multiple: true },
    /** A git revision to compare against: its bin/waypoint runs as target "waypoint@REV" in the same run. */
    baseline: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
});
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const work = mkdtempSync(join(tmpdir(), 'waypoint-bench-'));
const BODY = 'x'.repeat(1024);
const CLK_TCK = 100;

// ---------------------------------------------------------------- processes

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.on('SIGINT', () => process.exit(130));

function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (!stopping.has(child)) console.error(`${name} exited (${code ?? signal}): ${err}`);
  });
  children.push(child);
  return child;
}
const stopping = new Set<ChildProcess>();
async function stop(c: ChildProcess): Promise<void> {
  stopping.add(c);
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGTERM');
  await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 3000))]);
  c.kill('SIGKILL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitHttp(url: string, host = 'bench'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${host}`, url], { encoding: 'utf8' });
    if (r.stdout === '200') return;
    await sleep(100);
  }
  throw new Error(`${url} never answered 200`);
}

/** `pid` and its child processes (the workers of `--concurrency N`), from /proc. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // gone while listing
    }
  }
  return out;
}
/** CPU seconds of a proxy's processes: in user space, and in the kernel on their behalf (system calls). */
function cpuTimes(pid: number): { user: number; kernel: number } {
  let user = 0;
  let kernel = 0;
  for (const p of processTree(pid)) {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    user += Number(fields[11]) / CLK_TCK;
    kernel += Number(fields[12]) / CLK_TCK;
  }
  return { user, kernel };
}
/** CPU seconds (user + system) of a proxy's processes. */
function cpuSeconds(pid: number): number {
  const { user, kernel } = cpuTimes(pid);
  return user + kernel;
}
/** RSS (or peak RSS) of a proxy's processes, summed. */
function memKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  let total = 0;
  for (const p of processTree(pid)) {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    total += Number(m?.[1] ?? NaN);
  }
  return total;
}

/**
 * A bench program as JavaScript in the work directory: run from its TypeScript, the process would also
 * hold Node's TypeScript support (about 30 MB), which is not part of what it measures.
 */
function asJavaScript(name: string): string {
  const out = join(work, name.replace(/\.ts$/, '.mjs'));
  writeFileSync(out, toJavaScript(readFileSync(join(ROOT, 'bench', name), 'utf8')));
  return out;
}

// ---------------------------------------------------------------- configs

const certs = join(work, 'certs');
spawnSync(WAYPOINT, ['certs', '--out', certs, '--identity', 'default/waypoint', '--identity', 'default/ztunnel'], { stdio: 'ignore' });
const tlsFlags = (sa: string) => ['--cert', join(certs, 'default', sa, 'cert-chain.pem'), '--key', join(certs, 'default', sa, 'key.pem'), '--ca', join(certs, 'root-cert.pem')];

const service = benchServiceConfig;
const writeConfig = (name: string, text: string) => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};
const plainCfg = writeConfig('plain.yaml', service('10.96.0.2', '127.0.0.1', 18080));
// HBONE chain: client ztunnel stand-in → waypoint (clusterIP 127.0.0.2) → destination ztunnel stand-in (pod 127.0.0.3) → nginx
const clientZtCfg = writeConfig('client-zt.yaml', service('10.96.0.9', '127.0.0.2', 80));
const hboneCfg = writeConfig('hbone.yaml', service('127.0.0.2', '127.0.0.3', 8080));
// Route engine through the whole proxy: 5,000 HTTPRoutes over 500 Services, every Service's endpoint the backend.
const ROUTE_TABLE = { routes: 5000, services: 500 };
let routesCfg: string | undefined;
const routeMix = (n: number) => generateRouteRequests(Math.ceil(n * 1.5), ROUTE_TABLE.routes, ROUTE_TABLE.services).filter((r) => r.routed).slice(0, n).map(requestText);
/** The requests of a target that sends many: a JSON array for bench/loadgen.ts, and a Lua script that cycles them for wrk. */
function requestFiles(name: string, requests: string[]): { json: string; lua: string } {
  const json = writeConfig(`${name}-requests.json`, JSON.stringify(requests));
  const lua = writeConfig(`${name}-requests.lua`, `local r = {\n${requests.map((q) => JSON.stringify(q)).join(',\n')}\n}\nlocal i = 0\nrequest = function()\n  i = i % #r + 1\n  return r[i]\nend\n`);
  return { json, lua };
}
const destZtCfg = writeConfig('dest-zt.yaml', `apiVersion: v1\nkind: Pod\nmetadata: { name: dest }\nspec: {}\nstatus: { podIP: 127.0.0.3 }\n`);

writeFileSync(
  join(work, 'backend.conf'),
  `worker_processes 1; master_process off; daemon off; error_log stderr error; pid ${work}/backend.pid;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 300s; default_type text/plain;
  server { listen 127.0.0.1:18080; listen 127.0.0.3:8080; location / { return 200 '${BODY}'; } } }
`,
);
writeFileSync(
  join(work, 'nginx-proxy.conf'),
  `worker_processes 1; master_process off; daemon off; error_log stderr error; pid ${work}/proxy.pid;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  upstream backend { server 127.0.0.1:18080; keepalive 256; }
  server { listen 127.0.0.1:18082; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
);
writeFileSync(
  join(work, 'haproxy.cfg'),
  `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  http-reuse always
frontend fe
  bind 127.0.0.1:18083
  default_backend be
backend be
  server s1 127.0.0.1:18080
`,
);

interface Target {
  name: string;
  url: string;
  /** Measured only when named in --only. */
  optIn?: boolean;
  /** Requests to send in turn instead of one GET to `url` (files from requestFiles). */
  requests?: { json: string; lua: string };
  /** The process whose CPU and memory are measured (none for direct). */
  start?: () => Promise<{ measured: ChildProcess; helpers: ChildProcess[] }>;
}

const wp = (args: string[], env: Record<string, string> = {}, bin = WAYPOINT) =>
  // A 1 s drain: stop() waits 3 s before SIGKILL, and a process killed that way writes no CPU profile.
  start('waypoint', bin, ['run', '--admin', 'off', '--health', 'off', '--access-log', 'off', '--log-level', 'warn', '--drain-time', '1', ...args], env);

/** A checkout of the baseline revision with its own workspace links (installed offline from the store). */
const checkouts = new Map<string, string>();
function baselineCheckout(rev: string): string {
  const done = checkouts.get(rev);
  if (done) return done;
  const dir = join(work, `baseline-${rev.replace(/[^\w.-]/g, '_')}`);
  const r = spawnSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, rev], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git worktree add ${rev} failed: ${r.stderr}`);
  process.on('exit', () => spawnSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir]));
  spawnSync('ln', ['-s', join(ROOT, '.tools'), join(dir, '.tools')]);
  const install = spawnSync('pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent'], { cwd: dir, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`pnpm install in the ${rev} checkout failed: ${install.stderr}${install.stdout}`);
  // Revisions that have the JavaScript build run from it, as bin/waypoint does after setup.
  if (existsSync(join(dir, 'scripts', 'build.ts'))) spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(dir, 'scripts', 'build.ts')], { cwd: dir, stdio: 'inherit' });
  checkouts.set(rev, dir);
  return dir;
}
const profileEnv = (name: string): Record<string, string> =>
  values.profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(work, 'profiles', name)}` } : {};

function routesTarget(label: string, requests: Target['requests'], slot: number, rev?: string): Target {
  const name = `waypoint-${label}${rev ? `@${rev}` : ''}`;
  const port = 18110 + slot;
  return {
    name,
    url: `http://127.0.0.1:${port}/`,
    optIn: true,
    requests,
    start: async () => {
      routesCfg ??= writeConfig('routes.yaml', generateRouteConfig(ROUTE_TABLE.routes, ROUTE_TABLE.services, { address: '127.0.0.1', port: 18080 }));
      const bin = rev ? join(baselineCheckout(rev), 'bin', 'waypoint') : WAYPOINT;
      const measured = wp(['--config', routesCfg, '--http-listen', `127.0.0.1:${port}`, '--hbone-listen', 'off', '--upstream', 'plain', '--stats', `127.0.0.1:${port + 10}`], rev ? {} : profileEnv(name), bin);
      await waitHttp(`http://127.0.0.1:${port}/api/r0/status`, 'svc-0.default.svc.cluster.local');
      return { measured, helpers: [] };
    },
  };
}

const targets: Target[] = [
  { name: 'direct', url: 'http://127.0.0.1:18080/1k' },
  {
    name: 'waypoint',
    url: 'http://127.0.0.1:18081/1k',
    start: async () => {
      const measured = wp(['--config', plainCfg, '--http-listen', '127.0.0.1:18081', '--hbone-listen', 'off', '--upstream', 'plain', '--stats', '127.0.0.1:18091'], profileEnv('waypoint'));
      await waitHttp('http://127.0.0.1:18081/1k');
      return { measured, helpers: [] };
    },
  },
  {
    name: 'waypoint-c2',
    url: 'http://127.0.0.1:18085/1k',
    start: async () => {
      const measured = wp(['--config', plainCfg, '--http-listen', '127.0.0.1:18085', '--hbone-listen', 'off', '--upstream', 'plain', '--stats', '127.0.0.1:18095', '--concurrency', '2'], profileEnv('waypoint-c2'));
      await waitHttp('http://127.0.0.1:18085/1k');
      await sleep(1500); // the second process binds the port after the first is live
      return { measured, helpers: [] };
    },
  },
  ...(values.baseline
    ? [
        {
          name: `waypoint@${values.baseline}`,
          url: 'http://127.0.0.1:18094/1k',
          start: async () => {
            const bin = join(baselineCheckout(values.baseline!), 'bin', 'waypoint');
            const measured = wp(['--config', plainCfg, '--http-listen', '127.0.0.1:18094', '--hbone-listen', 'off', '--upstream', 'plain', '--stats', '127.0.0.1:18093'], {}, bin);
            await waitHttp('http://127.0.0.1:18094/1k');
            return { measured, helpers: [] };
          },
        },
      ]
    : []),
  ...(values.variant ?? []).map((v, i) => {
    const eq = v.indexOf('=');
    const name = `waypoint[${v.slice(0, eq)}]`;
    const port = 18095 + i;
    return {
      name,
      url: `http://127.0.0.1:${port}/1k`,
      start: async () => {
        const measured = wp(['--config', plainCfg, '--http-listen', `127.0.0.1:${port}`, '--hbone-listen', 'off', '--upstream', 'plain', '--stats', `127.0.0.1:${port + 10}`], { WAYPOINT_NODE_FLAGS: v.slice(eq + 1) });
        await waitHttp(`http://127.0.0.1:${port}/1k`);
        return { measured, helpers: [] };
      },
    };
  }),
  {
    name: 'waypoint-hbone',
    url: 'http://127.0.0.4:18084/1k',
    start: async () => {
      const dest = wp(['--config', destZtCfg, '--hbone-listen', '127.0.0.3:15008', '--upstream', 'plain', '--stats', 'off', ...tlsFlags('ztunnel')]);
      const measured = wp(['--config', hboneCfg, '--hbone-listen', '127.0.0.2:15008', '--upstream', 'hbone', '--stats', '127.0.0.1:18092', ...tlsFlags('waypoint')], profileEnv('waypoint-hbone'));
      const client = wp(['--config', clientZtCfg, '--hbone-listen', 'off', '--http-listen', '127.0.0.4:18084', '--upstream', 'hbone', '--stats', 'off', ...tlsFlags('ztunnel')]);
      await waitHttp('http://127.0.0.4:18084/1k');
      return { measured, helpers: [dest, client] };
    },
  },
  // The plain waypoint on a table of 5,000 HTTPRoutes over 500 Services, with the mix of bench/routing.ts
  // that a rule matches (exact, prefix and header, POST with query, regular expression): 50 distinct
  // requests (a few hot routes) and 10,000 (every table, little reuse). Run only when named in --only;
  // with --baseline, the baseline revision runs each of them too.
  ...([['routes-hot', 50], ['routes-spread', 10_000]] as const).flatMap(([label, distinct], i) => {
    const requests = requestFiles(label, routeMix(distinct));
    return [routesTarget(label, requests, i), ...(values.baseline ? [routesTarget(label, requests, i + 2, values.baseline)] : [])];
  }),
  {
    name: 'node-http',
    url: 'http://127.0.0.1:18086/1k',
    start: async () => {
      const measured = start('node-http', process.execPath, [asJavaScript('node-proxy.ts'), '18086', '18080']);
      await waitHttp('http://127.0.0.1:18086/1k');
      return { measured, helpers: [] };
    },
  },
  // What Node.js itself costs (bench/node-floor.ts), with the flags bin/waypoint gives a plain waypoint.
  // Run only when named in --only.
  ...(['relay', 'raw-http', 'http-server'] as const).map((mode, i) => ({
    name: `node-${mode}`,
    url: `http://127.0.0.1:${18096 + i}/1k`,
    optIn: true,
    start: async () => {
      const flags = ['--max-semi-space-size=2', '--no-maglev'];
      const measured = start(`node-${mode}`, process.execPath, [...flags, asJavaScript('node-floor.ts'), mode, String(18096 + i), '18080']);
      await waitHttp(`http://127.0.0.1:${18096 + i}/1k`);
      return { measured, helpers: [] };
    },
  })),
  {
    name: 'nginx',
    url: 'http://127.0.0.1:18082/1k',
    start: async () => {
      const measured = start('nginx', 'nginx', ['-c', join(work, 'nginx-proxy.conf'), '-p', work]);
      await waitHttp('http://127.0.0.1:18082/1k');
      return { measured, helpers: [] };
    },
  },
  {
    name: 'haproxy',
    url: 'http://127.0.0.1:18083/1k',
    start: async () => {
      const measured = start('haproxy', 'haproxy', ['-f', join(work, 'haproxy.cfg'), '-db']);
      await waitHttp('http://127.0.0.1:18083/1k');
      return { measured, helpers: [] };
    },
  },
].filter((t: Target) => (values.only ? t.name === 'direct' || /^waypoint[[@]/.test(t.name) || values.only.split(',').includes(t.name.replace(/@.*/, '')) : !t.optIn));

// ---------------------------------------------------------------- load

interface Fixed {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ok: number;
  sent: number;
  errors: number;
  /** Answers that were not 2xx: a route table that misroutes would show here. */
  non2xx: number;
  vcpuPer1k: number;
  /** The part of vcpuPer1k spent in the kernel (system calls: sockets, epoll). */
  kernelPer1k: number;
  rssMb: number;
}
interface Result {
  target: string;
  run: number;
  idleRssMb: number;
  even: Fixed;
  burst: Fixed;
  maxRps: number;
  maxVcpu: number;
  /** Answers of the wrk run that were not 2xx or 3xx. */
  maxNon2xx: number;
  peakRssMb: number;
}


async function fixedRate(t: Target, mode: 'even' | 'burst', measured: ChildProcess | undefined): Promise<Fixed> {
  const u = new URL(t.url);
  const pid = measured?.pid;
  const cpu0 = pid ? cpuTimes(pid) : { user: 0, kernel: 0 };
  const t0 = performance.now();
  const rss: number[] = [];
  const sampler = setInterval(() => pid && rss.push(memKb(pid, 'VmRSS')), 250);
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'loadgen.ts'), '--target', u.host, '--path', u.pathname, '--mode', mode, '--duration', String(SECONDS), ...(t.requests ? ['--requests', t.requests.json] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise((r) => child.once('exit', r));
  clearInterval(sampler);
  const wall = (performance.now() - t0) / 1000;
  const r = JSON.parse(out.trim().split('\n').pop()!);
  const rate = r.ok / SECONDS;
  const cpu1 = pid ? cpuTimes(pid) : undefined;
  const vcpu = cpu1 ? (cpu1.user + cpu1.kernel - cpu0.user - cpu0.kernel) / wall : NaN;
  const kernel = cpu1 ? (cpu1.kernel - cpu0.kernel) / wall : NaN;
  return { ...r, vcpuPer1k: vcpu / (rate / 1000), kernelPer1k: kernel / (rate / 1000), rssMb: rss.length ? median(rss) / 1024 : NaN };
}

function wrk(t: Target, measured: ChildProcess | undefined): { rps: number; vcpu: number; non2xx: number } {
  const pid = measured?.pid;
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const t0 = performance.now();
  const r = spawnSync('wrk', ['-t1', '-c64', `-d${SECONDS}s`, ...(t.requests ? ['-s', t.requests.lua] : ['-H', 'Host: bench']), t.url], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { rps, vcpu: pid ? (cpuSeconds(pid) - cpu0) / wall : NaN, non2xx };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------- run

const backend = start('backend nginx', 'nginx', ['-c', join(work, 'backend.conf'), '-p', work]);
await waitHttp('http://127.0.0.1:18080/1k');
const results: Result[] = [];
for (let run = 1; run <= RUNS; run++) {
  // Direct first, then the proxies in an order that rotates each run, so no proxy always follows another.
  const proxies = targets.slice(1);
  const order = [targets[0]!, ...proxies.slice((run - 1) % Math.max(1, proxies.length)), ...proxies.slice(0, (run - 1) % Math.max(1, proxies.length))];
  for (const t of order) {
    const started = t.start ? await t.start() : undefined;
    const measured = started?.measured;
    await sleep(500);
    const idleRssMb = measured?.pid ? memKb(measured.pid, 'VmRSS') / 1024 : NaN;
    wrk(t, measured); // warm-up: JIT, pools
    const even = await fixedRate(t, 'even', measured);
    const burst = await fixedRate(t, 'burst', measured);
    const max = wrk(t, measured);
    const peakRssMb = measured?.pid ? memKb(measured.pid, 'VmHWM') / 1024 : NaN;
    results.push({ target: t.name, run, idleRssMb, even, burst, maxRps: max.rps, maxVcpu: max.vcpu, maxNon2xx: max.non2xx, peakRssMb });
    console.error(
      `run ${run} ${t.name}: max ${max.rps.toFixed(0)} rps; 1000 rps even p50/p90/p99 ${even.p50}/${even.p90}/${even.p99} ms, ` +
        `${even.vcpuPer1k.toFixed(3)} vCPU/1k, RSS ${even.rssMb.toFixed(1)} MB; burst p90/p99 ${burst.p90}/${burst.p99} ms; peak RSS ${peakRssMb.toFixed(1)} MB`,
    );
    if (started) for (const c of [started.measured, ...started.helpers]) await stop(c);
  }
}
await stop(backend);

// ---------------------------------------------------------------- report

const names = targets.map((t) => t.name);
const med = (name: string, f: (r: Result) => number) => median(results.filter((r) => r.target === name).map(f));
const summary = names.map((name) => ({
  name,
  maxRps: med(name, (r) => r.maxRps),
  evenP50: med(name, (r) => r.even.p50),
  evenP90: med(name, (r) => r.even.p90),
  evenP99: med(name, (r) => r.even.p99),
  burstP90: med(name, (r) => r.burst.p90),
  burstP99: med(name, (r) => r.burst.p99),
  vcpuPer1k: med(name, (r) => r.even.vcpuPer1k),
  kernelPer1k: med(name, (r) => r.even.kernelPer1k),
  idleRssMb: med(name, (r) => r.idleRssMb),
  rssMb: med(name, (r) => r.even.rssMb),
  peakRssMb: med(name, (r) => r.peakRssMb),
}));
const direct = summary.find((s) => s.name === 'direct')!;
const unexpected = results.flatMap((r) => [
  ...(['even', 'burst'] as const).filter((m) => r[m].non2xx || r[m].errors).map((m) => `${r.target} run ${r.run} ${m}: ${r[m].non2xx} non-2xx, ${r[m].errors} errors`),
  ...(r.maxNon2xx ? [`${r.target} run ${r.run} wrk: ${r.maxNon2xx} neither 2xx nor 3xx`] : []),
]);
const haproxy = summary.find((s) => s.name === 'haproxy');
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const date = new Date().toISOString().slice(0, 10);
const versions = {
  node: process.version,
  nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim(),
  haproxy: spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0],
  wrk: spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0],
  cpu: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s+: (.*)/)?.[1],
  cores: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length,
};
const lines = [
  `# Benchmark ${date}`,
  '',
  `Medians of ${RUNS} runs, ${SECONDS} s per measurement, loopback, 1 KB responses, HTTP/1.1, one worker each.`,
  `Command: \`node bench/run.ts --runs ${RUNS} --seconds ${SECONDS}${values.only ? ` --only ${values.only}` : ''}${(values.variant ?? []).map((v) => ` --variant '${v}'`).join('')}${values.baseline ? ` --baseline ${values.baseline}` : ''}\``,
  '',
  `Machine: ${versions.cores} cores, ${versions.cpu}. ${versions.node}; ${versions.nginx}; ${versions.haproxy}; ${versions.wrk}.`,
  '',
  '| proxy | max rps (wrk, 64 conns) | vs HAProxy | p50 / p90 / p99 at 1000 rps even (ms) | added p90 vs direct (ms) | burst p90 / p99 (ms) | vCPU per 1000 rps | of which kernel | RSS idle / at 1000 rps / peak (MB) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (s) =>
      `| ${s.name} | ${fmt(s.maxRps, 0)} | ${haproxy && s.name !== 'direct' ? `${fmt((100 * s.maxRps) / haproxy.maxRps, 0)}%` : '–'} | ${fmt(s.evenP50, 3)} / ${fmt(s.evenP90, 3)} / ${fmt(s.evenP99, 3)} | ${s.name === 'direct' ? '–' : fmt(s.evenP90 - direct.evenP90, 3)} | ${fmt(s.burstP90, 3)} / ${fmt(s.burstP99, 3)} | ${fmt(s.vcpuPer1k, 3)} | ${fmt(s.kernelPer1k, 3)} | ${fmt(s.idleRssMb, 1)} / ${fmt(s.rssMb, 1)} / ${fmt(s.peakRssMb, 1)} |`,
  ),
  '',
  'How each figure is taken: max rps from `wrk -t1 -c64`; latency from `bench/loadgen.ts` at 1000 requests/s over 64 keep-alive connections, "even" = one request per millisecond round-robin over the connections, "burst" = all 64 connections at once every 64 ms; vCPU = (utime+stime of the proxy’s processes from /proc, workers included) / wall time during the even run, divided by thousands of requests per second, and "of which kernel" its stime part (system calls: sockets, epoll); RSS (summed over the proxy’s processes) sampled from /proc every 250 ms during the even run; peak = VmHWM.',
  'waypoint-hbone measures the waypoint that terminates HBONE and re-originates it; the client and destination ztunnels are two more waypoint processes (HBONE originate / terminate) on the same two cores, not counted in its CPU.',
  ...(names.some((n) => n.startsWith('waypoint-routes'))
    ? [`waypoint-routes-hot and waypoint-routes-spread run the plain waypoint on ${ROUTE_TABLE.routes.toLocaleString('en')} HTTPRoutes over ${ROUTE_TABLE.services} Services (bench/generated-config.ts, every Service's endpoint the backend) and send, in turn, 50 or 10,000 distinct requests that a rule matches (exact path, prefix with a header, POST with a query parameter, regular expression), spread over random Services.`]
    : []),
  `Answers other than 2xx, or connection errors, at 1000 rps (and neither 2xx nor 3xx under wrk): ${unexpected.length ? unexpected.join('; ') : 'none'}.`,
  '',
];
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, `${date}.md`), lines.join('\n'));
writeFileSync(join(values.out, `${date}.json`), JSON.stringify({ date, versions, runs: RUNS, seconds: SECONDS, summary, results }, null, 2));
writeFileSync(join(values.out, `${date}.svg`), svgChart(summary, direct.evenP90));
if (values.profile) {
  for (const name of ['waypoint', 'waypoint-hbone']) {
    const dir = join(work, 'profiles', name);
    try {
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file) writeFileSync(join(values.out, `${date}-${name}.cpuprofile`), readFileSync(join(dir, file)));
    } catch {
      // no profile for a target that was not run
    }
  }
}
console.log(lines.join('\n'));
