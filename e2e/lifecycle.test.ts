import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, ROOT, WAYPOINT, WaypointProcess, eventually, json, send, serviceYaml, startBackend, startWaypoint, type Backend } from './harness.ts';

let fast: Backend, slow: Backend;
let dir: ConfigDir;
const running: WaypointProcess[] = [];

beforeAll(async () => {
  fast = await startBackend('fast');
  slow = await startBackend('slow', (_req, res) => setTimeout(() => res.end('finished'), 1200));
  dir = new ConfigDir();
  dir.write('config.yaml', [serviceYaml('fast', [{ port: fast.port }]), serviceYaml('slow', [{ port: slow.port }])].join('\n'));
});
afterAll(async () => {
  await Promise.all([fast?.close(), slow?.close()]);
  dir?.remove();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

const start = async (extra: string[] = []) => {
  const wp = await startWaypoint(dir.path, extra);
  running.push(wp);
  return wp;
};

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });

describe('drain and exit', () => {
  it('on SIGTERM stops accepting, finishes in-flight requests, and exits 0', async () => {
    const wp = await start(['--drain-time', '5']);
    const inFlight = send(`${wp.base}/`, { headers: { host: 'slow' } });
    await new Promise((r) => setTimeout(r, 200));
    wp.child.kill('SIGTERM');
    await wp.waitForLog((l) => l.msg.startsWith('draining'));
    expect(await refused(wp.httpPort)).toBe(true);
    const ready = await send(`${wp.admin}/ready`).catch(() => undefined);
    if (ready) expect(ready.status).toBe(503);
    const r = await inFlight;
    expect([r.status, r.body, r.headers.connection]).toEqual([200, 'finished', 'close']);
    expect(await wp.exited).toBe(0);
  });

  it('bounds the drain: a request still running after --drain-time is cut and the process exits 0', async () => {
    const wp = await start(['--drain-time', '0']);
    const inFlight = send(`${wp.base}/`, { headers: { host: 'slow' } }).then(
      () => 'completed',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 200));
    wp.child.kill('SIGTERM');
    expect(await wp.exited).toBe(0);
    expect(await inFlight).toBe('cut');
  });

  it('exits 0 on POST /quitquitquit, and refuses GET there', async () => {
    const wp = await start();
    expect((await send(`${wp.admin}/quitquitquit`)).status).toBe(400);
    const r = await send(`${wp.admin}/quitquitquit`, { method: 'POST' });
    expect([r.status, r.body]).toEqual([200, 'OK\n']);
    expect(await wp.exited).toBe(0);
  });
});

describe('admin, readiness and stats', () => {
  it('answers /ready LIVE, dumps the config, lists clusters and stats', async () => {
    const wp = await start();
    expect(await send(`${wp.admin}/ready`)).toMatchObject({ status: 200, body: 'LIVE\n' });
    const dump = JSON.parse((await send(`${wp.admin}/config_dump`)).body);
    expect(dump.config.services.map((s: { key: string }) => s.key)).toEqual(['default/fast', 'default/slow']);
    expect((await send(`${wp.admin}/clusters`)).body).toContain(`inbound-vip|80|http|fast.default.svc.cluster.local::127.0.0.1:${fast.port}::health_flags::healthy`);
    await send(`${wp.base}/`, { headers: { host: 'fast' } });
    const stats = (await send(`${wp.admin}/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started|http\\.inbound\\.downstream_rq_2xx)`)).body;
    expect(stats).toBe('http.inbound.downstream_rq_2xx: 1\nlistener_manager.workers_started: 1\nserver.state: 0\n');
    expect((await send(`${wp.admin}/stats/prometheus`)).body).toContain('envoy_http_inbound_downstream_rq_total 1');
    expect((await send(`${wp.admin}/nope`)).status).toBe(404);
  });

  it('reports its memory as Envoy does: /memory and the server.memory_* gauges, the resident set matching /proc', async () => {
    const wp = await start();
    const memory = JSON.parse((await send(`${wp.admin}/memory`)).body) as Record<string, string>;
    expect(Object.keys(memory)).toEqual(['allocated', 'heap_size', 'pageheap_unmapped', 'pageheap_free', 'total_thread_cache', 'total_physical_bytes']);
    for (const v of Object.values(memory)) expect(v).toMatch(/^\d+$/);
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${wp.child.pid}/status`, 'utf8'))![1]) * 1024;
    expect(Math.abs(Number(memory.total_physical_bytes) - rss) / rss).toBeLessThan(0.2);
    expect(Number(memory.allocated)).toBeGreaterThan(1e6);
    expect(Number(memory.heap_size)).toBeGreaterThanOrEqual(Number(memory.allocated));
    const gauges = (await send(`${wp.admin}/stats?filter=^server\\.memory_`)).body;
    const value = (name: string) => Number(new RegExp(`server\\.memory_${name}: (\\d+)`).exec(gauges)![1]);
    expect(Math.abs(value('physical_size') - rss) / rss).toBeLessThan(0.2);
    expect(value('heap_size')).toBeGreaterThanOrEqual(value('allocated'));
    expect((await send(`${wp.admin}/stats/prometheus`)).body).toMatch(/# TYPE envoy_server_memory_allocated gauge\nenvoy_server_memory_allocated [1-9]\d+\n/);
  });

  it('serves /healthz/ready and /stats/prometheus on their own ports', async () => {
    const wp = new WaypointProcess(['run', '--config', dir.path, '--http-listen', '127.0.0.1:0=80', '--admin', 'off', '--stats', '127.0.0.1:0', '--health', '127.0.0.1:0', '--hbone-listen', 'off', '--upstream', 'plain']);
    running.push(wp);
    const health = await wp.waitForLog((l) => l.listener === 'health');
    const stats = await wp.waitForLog((l) => l.listener === 'stats');
    await wp.waitForLog((l) => String(l.listener ?? '').startsWith('http '));
    expect((await send(`http://${health.address}/healthz/ready`)).status).toBe(200);
    expect((await send(`http://${stats.address}/stats/prometheus`)).body).toContain('# TYPE envoy_server_state gauge\nenvoy_server_state 0\n');
  });

  it('fails readiness after POST /healthcheck/fail but keeps serving traffic', async () => {
    const wp = await start();
    await send(`${wp.admin}/healthcheck/fail`, { method: 'POST' });
    expect(json(await send(`${wp.base}/`, { headers: { host: 'fast' } })).backend).toBe('fast');
    await send(`${wp.admin}/healthcheck/ok`, { method: 'POST' });
  });

  it('shows and changes the process log level with POST /logging, as Envoy names levels', async () => {
    const wp = await start();
    /** A request too malformed to parse: the process logs it at debug level. */
    const garbage = () =>
      new Promise<void>((resolve) => {
        const s = connect(wp.httpPort, '127.0.0.1', () => s.end('GARBAGE\r\n\r\n'));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    const debugLines = () => wp.logs.filter((l) => l.level === 'debug' && l.msg.startsWith('unparseable request')).length;

    expect(await send(`${wp.admin}/logging`, { method: 'POST' })).toMatchObject({ status: 200, body: 'active loggers:\n  waypoint: info\n' });
    expect((await send(`${wp.admin}/logging`)).status).toBe(400); // a change of state: POST only
    await garbage(); // at info: not logged

    expect((await send(`${wp.admin}/logging?level=debug`, { method: 'POST' })).body).toBe('active loggers:\n  waypoint: debug\n');
    await garbage(); // at debug: logged
    expect(await eventually(() => debugLines() > 0)).toBe(true);
    // One line: the request sent at info level, handled before the change, left none.
    expect(debugLines()).toBe(1);

    // An unknown logger or level changes nothing and gets the usage.
    for (const query of ['http=info', 'level=loud', 'paths=router:info']) {
      const r = await send(`${wp.admin}/logging?${query}`, { method: 'POST' });
      expect([r.status, r.body.startsWith('usage: /logging?level=<level>')], query).toEqual([404, true]);
    }
    expect((await send(`${wp.admin}/logging?paths=waypoint:warning`, { method: 'POST' })).body).toBe('active loggers:\n  waypoint: warning\n');
    expect((await send(`${wp.admin}/logging?waypoint=critical`, { method: 'POST' })).body).toBe('active loggers:\n  waypoint: critical\n');
    // Still serving.
    expect(json(await send(`${wp.base}/`, { headers: { host: 'fast' } })).backend).toBe('fast');
  });

  it('refuses to start with HBONE when the certificate files are missing, and says what to give', () => {
    const r = spawnSync(WAYPOINT, ['run', '--config', dir.path, '--hbone-listen', '127.0.0.1:0', '--cert', '/nonexistent/cert.pem', '--admin', 'off', '--stats', 'off', '--health', 'off'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/HBONE needs a workload certificate: cannot read certificate \/nonexistent\/cert\.pem: ENOENT\. Give --cert, --key and --ca/);
  });

  it('refuses to start with a clear message when a listener address is taken', async () => {
    const first = await start();
    const r = spawnSync(WAYPOINT, ['run', '--config', dir.path, '--http-listen', `127.0.0.1:${first.httpPort}`, '--admin', 'off', '--stats', 'off', '--health', 'off', '--hbone-listen', 'off', '--upstream', 'plain'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot listen: .*EADDRINUSE/);
  });
});

describe('validate and usage', () => {
  it('exits 0 on the bundled example config', () => {
    const r = spawnSync(WAYPOINT, ['validate', '--config', join(ROOT, 'examples', 'demo')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout).toMatch(/^ok: 3 files, 0 warnings$/m);
    expect(r.stdout).toContain('status: HTTPRoute/default/echo-ingress parent Gateway/default/demo: Accepted=True, ResolvedRefs=True');
    expect(r.status).toBe(0);
  });

  it('lists every problem as file:line:col kind/namespace/name field: reason and exits 1', () => {
    const bad = new ConfigDir();
    try {
      const file = bad.write('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: b }\nspec:\n  ports: [{ port: 0 }]\n---\napiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: {}\n---\napiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: {}\n---\n- not a mapping\n');
      const r = spawnSync(WAYPOINT, ['validate', '--config', bad.path], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stdout.trim().split('\n')).toEqual([
        `${file}:5:13 Service/default/b spec.ports[0].port: must be >= 1`,
        `${file}:12:1 Service/default/a: duplicate resource: already defined at ${file}:7:1`,
        `${file}:17:1 a document must be a mapping (a Kubernetes object), not a list`,
        '3 errors, 0 warnings in 1 file: the config would be rejected',
      ]);
    } finally {
      bad.remove();
    }
  });

  it('prints route status with the Gateway API reason when a parent refuses a route or a backend is missing', () => {
    const bad = new ConfigDir();
    try {
      bad.write('routes.yaml', 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: r }\nspec:\n  parentRefs: [{ name: no-such-gateway }]\n  rules: [{ backendRefs: [{ name: missing, port: 80 }] }]\n');
      const r = spawnSync(WAYPOINT, ['validate', '--config', bad.path], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('status: HTTPRoute/default/r parent Gateway/default/no-such-gateway: Accepted=False (NoMatchingParent), ResolvedRefs=False (BackendNotFound)');
    } finally {
      bad.remove();
    }
  });

  it('exits 2 with usage for an unknown command or flag, and names a missing config file', () => {
    expect(spawnSync(WAYPOINT, ['frobnicate'], { encoding: 'utf8' }).status).toBe(2);
    const r = spawnSync(WAYPOINT, ['run', '--config', 'x', '--http-listen', '127.0.0.1:0', '--wat'], { encoding: 'utf8' });
    expect([r.status, r.stderr.trim()]).toEqual([2, "waypoint run: Unknown option '--wat'"]);
    const missing = spawnSync(WAYPOINT, ['validate', '--config', '/nonexistent/cfg.yaml'], { encoding: 'utf8' });
    expect([missing.status, missing.stdout.split('\n')[0]]).toEqual([1, '/nonexistent/cfg.yaml:1:1 cannot read config: no such file or directory']);
  });
});
