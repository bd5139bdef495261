/**
 * Route-table benchmark: compiles a generated config of HTTPRoutes over Services and times route decisions.
 *
 *   node bench/routing.ts [--routes 5000] [--services 500] [--runs 5] [--decisions 200000] [--out FILE.md]
 *
 * Compile time is measured in two parts: loading (YAML parse, schema validation, translation to the IR)
 * and building the Router (sorting and compiling every table). A decision is `Router.routePlain` for a
 * request whose Host names a Service, as the plain listener calls it: host lookup, the Service port's
 * table in precedence order, the matching rule and its weighted backend. Decisions are timed in batches
 * of 100 (the clock's own cost would otherwise dominate), and the median per-decision time over batches
 * is reported, the median over runs of that. One process, one core.
 *
 * The figure depends on how much of the tables stays in the CPU caches, so it is measured for several
 * working sets (--working-sets): N distinct requests, cycled, each to a random Service. 50 requests is a
 * proxy whose traffic goes to a few dozen popular routes; 10,000 requests over 500 Services touches every
 * table with little reuse, so most of each decision's reads of the tables miss the caches. The requests
 * themselves are read just before each timed batch: in a proxy they have just been parsed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, type ConfigText } from '../packages/config/src/index.ts';
import { Router, type RouteRequest } from '../packages/routing/src/index.ts';
import { generateRouteConfig, generateRouteRequests } from './generated-config.ts';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '5000' },
    services: { type: 'string', default: '500' },
    runs: { type: 'string', default: '5' },
    decisions: { type: 'string', default: '200000' },
    out: { type: 'string' },
    'working-sets': { type: 'string', default: '50,1000,10000' },
  },
});
const ROUTES = Number(values.routes);
const SERVICES = Number(values.services);
const RUNS = Number(values.runs);
const DECISIONS = Number(values.decisions);
const BATCH = 100;

/** The generated mix (exact, prefix and header, method and query, regular expression, and misses) as the router sees it. */
function generateRequests(n: number): { host: string; req: RouteRequest }[] {
  return generateRouteRequests(n, ROUTES, SERVICES).map(({ host, method, path, query, headers }) => ({ host, req: { method, path, query, headers } }));
}

/** Reads every character of `s`, as parsing it would have. */
function touch(s: string): number {
  let x = 0;
  for (let i = 0; i < s.length; i++) x ^= s.charCodeAt(i);
  return x & 1;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const config: ConfigText = { file: 'generated.yaml', text: generateRouteConfig(ROUTES, SERVICES) };
const requests = generateRequests(Math.max(10_000, ...values['working-sets'].split(',').map(Number)));
const workingSets = values['working-sets'].split(',').map(Number);
const loadMs: number[] = [];
const buildMs: number[] = [];
const decisionNs = workingSets.map(() => [] as number[]);
const p99Ns = workingSets.map(() => [] as number[]);
let outcome: Record<string, number> = {};

for (let run = 0; run < RUNS; run++) {
  let t = performance.now();
  const loaded = loadConfig([config], { defaultNamespace: 'default' });
  loadMs.push(performance.now() - t);
  if (!loaded.ir) throw new Error(`generated config is invalid: ${JSON.stringify(loaded.diagnostics.slice(0, 3))}`);
  t = performance.now();
  const router = new Router(loaded.ir, { namespace: 'default' });
  buildMs.push(performance.now() - t);

  // Warm-up, and a tally of outcomes so that the mix is visible (and a broken table cannot go unnoticed).
  outcome = {};
  for (const { host, req } of requests) {
    const d = router.routePlain(80, host, req);
    const key = d.kind === 'local' ? `local ${d.status}` : d.kind;
    outcome[key] = (outcome[key] ?? 0) + 1;
  }
  for (const [w, size] of workingSets.entries()) {
    const pool = requests.slice(0, size);
    const medians = decisionNs[w]!;
    const p99s = p99Ns[w]!;
    const batches: number[] = [];
    let sink = 0;
    for (let done = 0; done < DECISIONS; done += BATCH) {
      // A proxy routes a request right after parsing it, so the request itself is in the caches and only
      // the tables may be cold: the batch's requests are read once before the clock starts.
      for (let i = 0; i < BATCH; i++) {
        const { host, req } = pool[(done + i) % pool.length]!;
        sink += touch(host) + touch(req.path) + touch(req.query) + touch(req.method) + touch(req.headers['x-version'] as string);
      }
      const start = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) {
        const { host, req } = pool[(done + i) % pool.length]!;
        sink += router.routePlain(80, host, req).routeName.length;
      }
      batches.push(Number(process.hrtime.bigint() - start) / BATCH);
    }
    if (sink === 0) throw new Error('no decision was made');
    medians.push(median(batches));
    batches.sort((a, b) => a - b);
    p99s.push(batches[Math.floor(batches.length * 0.99)]!);
  }
}

const routeCount = ROUTES;
function row(label: string, ns: number[]): string {
  return `| ${label} | ${(median(ns) / 1000).toFixed(3)} | ${ns.map((x) => (x / 1000).toFixed(3)).join(', ')} |`;
}
const lines = [
  `# Route table benchmark — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Command: \`node bench/routing.ts --routes ${ROUTES} --services ${SERVICES} --runs ${RUNS} --decisions ${DECISIONS} --working-sets ${workingSets.join(',')}\``,
  '',
  `Node ${process.version}, ${process.arch}; one process, one core. ${routeCount} HTTPRoutes (4 rules each: Exact path, PathPrefix + header,`,
  `PathPrefix + method + query param with a header modifier, RegularExpression) attached to ${SERVICES} Services (mesh parents),`,
  `${(config.text.length / 1024 / 1024).toFixed(1)} MiB of YAML. Requests: ${Object.entries(outcome)
    .map(([k, v]) => `${k} ${((v / requests.length) * 100).toFixed(0)}%`)
    .join(', ')} (misses scan their Service's whole table).`,
  '',
  '| figure | median of runs | runs |',
  '|---|---|---|',
  `| load: parse + validate + translate (ms) | ${median(loadMs).toFixed(0)} | ${loadMs.map((x) => x.toFixed(0)).join(', ')} |`,
  `| compile: build the Router (ms) | ${median(buildMs).toFixed(0)} | ${buildMs.map((x) => x.toFixed(0)).join(', ')} |`,
  ...workingSets.flatMap((size, w) => [
    row(`route decision, ${size.toLocaleString('en')} distinct requests, median (µs)`, decisionNs[w]!),
    row(`route decision, ${size.toLocaleString('en')} distinct requests, p99 of batches (µs)`, p99Ns[w]!),
  ]),
  '',
];
const text = lines.join('\n');
process.stdout.write(`${text}\n`);
if (values.out) writeFileSync(values.out, text);
