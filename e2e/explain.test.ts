import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, WAYPOINT, eventually, meshRoute, serviceYaml, startWaypoint, type WaypointProcess } from './harness.ts';

let dir: ConfigDir;
let wp: WaypointProcess;
const config = (canaryHeader: string) =>
  [
    serviceYaml('reviews', [{ port: 9001 }]),
    serviceYaml('reviews-v2', [{ port: 9002 }]),
    meshRoute('reviews', 'reviews', `[{ matches: [{ headers: [{ name: x-canary, value: "${canaryHeader}" }] }], backendRefs: [{ name: reviews-v2, port: 80 }] }, { backendRefs: [{ name: reviews, port: 80 }] }]`),
  ].join('\n');

beforeAll(async () => {
  dir = new ConfigDir();
  dir.write('config.yaml', config('yes'));
  wp = await startWaypoint(dir.path);
});

afterAll(async () => {
  await wp?.stop();
  dir?.remove();
});

const explain = (...args: string[]) => spawnSync(WAYPOINT, ['explain', '--config', dir.path, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('waypoint explain', () => {
  it('prints the decision trace for a request', () => {
    const r = explain('GET http://reviews.default/api?x=1', '-H', 'X-Canary: yes');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'request: GET reviews.default /api?x=1',
      'table: plain HTTP listener serving Gateway port 80',
      'table: Host "reviews.default" names Service default/reviews',
      'table: Service default/reviews port 80 (mesh routing)',
    ]);
    expect(lines).toContain('   1. HTTPRoute/default/reviews rule 0 match 0 [PathPrefix /, header x-canary = "yes"]: chosen');
    expect(lines).toContain('   2. HTTPRoute/default/reviews rule 1 match 0 [PathPrefix /]: not reached');
    expect(lines.some((l) => l.startsWith('  forward to Service default/reviews-v2 port 80'))).toBe(true);
  });

  it('prints JSON with --json, and explains tunnels with --tunnel', () => {
    const r = explain('--json', '--tunnel', '127.0.0.1:9002', 'http://reviews-v2/');
    expect(r.status).toBe(0);
    const trace = JSON.parse(r.stdout);
    expect(trace.selection).toEqual(['HBONE tunnel to 127.0.0.1:9002', 'a workload address, not a Service: straight to it']);
  });

  it('exits 2 with a reason for a request it cannot read, and 1 for a config that would be rejected', () => {
    const bad = explain('GET', '/relative');
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'waypoint explain: not an absolute URL: "/relative" (write it as http://host/path)']);
    const broken = new ConfigDir();
    broken.write('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: x }\nspec: { ports: [{ port: "80" }] }\n');
    const r = spawnSync(WAYPOINT, ['explain', '--config', broken.path, 'http://x/'], { encoding: 'utf8', timeout: 30_000 });
    broken.remove();
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/spec\.ports\[0\]\.port: must be integer\nthe config would be rejected \(1 error\); nothing to explain/);
  });
});

describe('admin /explain', () => {
  const get = async (query: string) => {
    const res = await fetch(`${wp.admin}/explain?${query}`);
    return { status: res.status, body: await res.text() };
  };

  it('explains a request against the live config, and follows reloads', async () => {
    const q = `request=${encodeURIComponent('GET http://reviews/')}&header=${encodeURIComponent('x-canary: yes')}`;
    const first = await get(q);
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^config version 1\n/);
    expect(first.body).toContain('[PathPrefix /, header x-canary = "yes"]: chosen');
    dir.write('config.yaml', config('always'));
    expect(await eventually(async () => (await get(q)).body.includes('lost: header x-canary: "yes" does not match "always"'))).toBe(true);
    const json = JSON.parse((await get(`${q}&format=json`)).body);
    expect(json.version).toBe(2);
    expect(json.backends[0].outcome).toMatch(/^forward to Service default\/reviews port 80/);
  });

  it('answers 400 with the reason for a request it cannot read', async () => {
    expect(await get('request=GET')).toEqual({ status: 400, body: 'not an absolute URL: "GET" (write it as http://host/path)\n' });
    expect(await get(`request=${encodeURIComponent('http://x/')}&tunnel=nonsense`)).toEqual({ status: 400, body: 'tunnel "nonsense": write it as IP:PORT, the CONNECT authority\n' });
  });
});

describe('waypoint validate', () => {
  it('reports matches no request can reach', () => {
    const d = new ConfigDir();
    d.write(
      'c.yaml',
      [serviceYaml('web', [{ port: 9001 }]), meshRoute('web', 'web', '[{ matches: [{ path: { type: Exact, value: /a } }], backendRefs: [{ name: web, port: 80 }] }, { matches: [{ path: { type: Exact, value: /a } }], backendRefs: [{ name: web, port: 80 }] }]')].join('\n'),
    );
    const r = spawnSync(WAYPOINT, ['validate', '--config', d.path], { encoding: 'utf8', timeout: 30_000 });
    d.remove();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('unreachable: HTTPRoute default/web rule 1 match 0 can never be chosen for Service default/web port 80: HTTPRoute default/web rule 0 match 0 has the same conditions and precedes it');
  });
});

