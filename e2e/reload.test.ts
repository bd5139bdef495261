import { chmodSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigDir, eventually, json, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let a: Backend, b: Backend, slow: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;

const services = () => [serviceYaml('web', [{ port: a.port }]), serviceYaml('web-b', [{ port: b.port }]), serviceYaml('slow', [{ port: slow.port }])].join('\n');
const toB = meshRoute('web', 'web', '[{ backendRefs: [{ name: web-b, port: 80 }] }]');
const backendOf = async () => json(await send(`${wp.base}/`, { headers: { host: 'web' } })).backend;
const stat = async (name: string) => Number((await send(`${wp.admin}/stats?filter=${name}`)).body.split(': ')[1]);

beforeAll(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  slow = await startBackend('slow', (_req, res) => setTimeout(() => res.end('slow done'), 1500));
});
afterAll(async () => Promise.all([a?.close(), b?.close(), slow?.close()]));

beforeEach(async () => {
  dir = new ConfigDir();
  dir.write('services.yaml', services());
  dir.write('routes.yaml', '');
  wp = await startWaypoint(dir.path);
});
afterEach(async () => {
  await wp?.stop();
  dir?.remove();
});

describe('hot reload', () => {
  it('applies a valid edit within a second', async () => {
    expect(await backendOf()).toBe('a');
    const t0 = Date.now();
    dir.write('routes.yaml', toB);
    expect(await eventually(async () => (await backendOf()) === 'b', 3000, 20)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await stat('listener_manager.lds.update_success')).toBe(2);
  });

  it('sees an edit written by rename (as editors and ConfigMap updates do)', async () => {
    const tmp = dir.write('.routes.tmp', toB);
    renameSync(tmp, `${dir.path}/routes.yaml`);
    expect(await eventually(async () => (await backendOf()) === 'b', 3000, 20)).toBe(true);
  });

  it('lets in-flight requests finish on the config they started with', async () => {
    const inFlight = send(`${wp.base}/`, { headers: { host: 'slow' } });
    await new Promise((r) => setTimeout(r, 100));
    dir.write('services.yaml', [serviceYaml('web', [{ port: a.port }]), serviceYaml('web-b', [{ port: b.port }])].join('\n'));
    expect(await eventually(async () => (await send(`${wp.base}/`, { headers: { host: 'slow' } })).status === 404, 3000, 20)).toBe(true);
    const r = await inFlight;
    expect([r.status, r.body]).toEqual([200, 'slow done']);
  });

  it('rejects an invalid edit with file:line:col, counts it, and keeps serving the previous config', async () => {
    dir.write('routes.yaml', toB);
    expect(await eventually(async () => (await backendOf()) === 'b', 3000, 20)).toBe(true);
    dir.write('routes.yaml', 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: web }\nspec:\n  rules:\n    - backendRefs: [{ name: web-b, port: "eighty" }]\n');
    const line = await wp.waitForLog((l) => l.msg.startsWith('config rejected'));
    expect(line.errors).toEqual([`${dir.path}/routes.yaml:6:36 HTTPRoute/default/web spec.rules[0].backendRefs[0].port: must be integer`]);
    expect(await backendOf()).toBe('b');
    expect(await stat('listener_manager.lds.update_rejected')).toBe(1);
    const dump = JSON.parse((await send(`${wp.admin}/config_dump`)).body);
    expect(dump.version).toBe(2);
    expect(dump.last_rejected.errors[0]).toContain('routes.yaml:6:36');
  });

  it('rejects malformed YAML and recovers when the file is fixed', async () => {
    dir.write('routes.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n\tname: tabbed\n');
    await wp.waitForLog((l) => l.msg.startsWith('config rejected') && String(l.errors).includes('invalid YAML'));
    expect(await backendOf()).toBe('a');
    dir.write('routes.yaml', toB);
    expect(await eventually(async () => (await backendOf()) === 'b', 3000, 20)).toBe(true);
  });

  it('keeps the last good config when a config file named on the command line vanishes or becomes unreadable', async () => {
    await wp.stop();
    const file = dir.write('single.yaml', services());
    wp = await startWaypoint(file);
    rmSync(file);
    await wp.waitForLog((l) => l.msg.startsWith('config rejected') && String(l.errors).includes('no such file or directory'));
    expect(await backendOf()).toBe('a');
    dir.write('single.yaml', `${services()}\n${toB}`);
    expect(await eventually(async () => (await backendOf()) === 'b', 3000, 20)).toBe(true);
    // Unreadable: root reads any mode, so a symlink loop stands in for an I/O error there.
    if (process.getuid?.() === 0) {
      rmSync(file);
      symlinkSync(file, file);
    } else {
      chmodSync(file, 0);
    }
    await wp.waitForLog((l) => l.msg.startsWith('config rejected') && /permission denied|too many symbolic links|ELOOP/.test(String(l.errors)));
    expect(await backendOf()).toBe('b');
  });

  it('loads a large config (over 256 KiB) off the main thread, serving meanwhile, then routes by it', async () => {
    // 1,100 HTTPRoutes on Service web-b, each with its own path: about 26 KiB of YAML per 100.
    const routes = Array.from({ length: 1100 }, (_, i) => meshRoute(`r${i}`, 'web-b', `[{ matches: [{ path: { type: PathPrefix, value: /big/r${i} } }], backendRefs: [{ name: web-b, port: 80 }] }]`)).join('');
    expect(Buffer.byteLength(routes)).toBeGreaterThan(256 * 1024);
    dir.write('routes.yaml', routes);
    // Requests keep being answered while it loads; an editor-like partial write may load first.
    let answered = 0;
    const done = () => wp.logs.some((l) => l.msg.includes(' in force') && l.httpRoutes === 1100);
    const deadline = Date.now() + 20_000;
    while (!done()) {
      expect(await backendOf()).toBe('a');
      answered++;
      if (Date.now() > deadline) throw new Error('the large config did not come into force within 20 s');
    }
    expect(answered).toBeGreaterThan(0);
    expect(wp.logs.find((l) => l.msg.includes(' in force') && l.httpRoutes === 1100)?.loader).toBe('worker');
    expect(json(await send(`${wp.base}/big/r1099/x`, { headers: { host: 'web-b' } })).backend).toBe('b');
    expect(await backendOf()).toBe('a');
  });

  it('keeps serving when an EndpointSlice names an unknown Service (a warning, not an error)', async () => {
    dir.write(
      'routes.yaml',
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: ghost-1, labels: { kubernetes.io/service-name: ghost } }\naddressType: IPv4\nendpoints: [{ addresses: [127.0.0.1] }]\n`,
    );
    await wp.waitForLog((l) => l.level === 'warn' && l.msg.includes('names Service default/ghost, which is not in the config'));
    expect(await backendOf()).toBe('a');
  });
});

describe('starting on a large config', () => {
  it('parses it in the worker thread at startup too, then routes by it', async () => {
    await wp.stop();
    const big = new ConfigDir();
    const routes = Array.from({ length: 1100 }, (_, i) => meshRoute(`r${i}`, 'web-b', `[{ matches: [{ path: { type: PathPrefix, value: /big/r${i} } }], backendRefs: [{ name: web-b, port: 80 }] }]`)).join('');
    big.write('config.yaml', `${services()}\n${routes}`);
    expect(Buffer.byteLength(routes)).toBeGreaterThan(256 * 1024);
    wp = await startWaypoint(big.path);
    try {
      const loaded = await wp.waitForLog((l) => l.msg.includes(' in force'));
      expect([loaded.reason, loaded.loader, loaded.httpRoutes]).toEqual(['startup', 'worker', 1100]);
      expect(json(await send(`${wp.base}/big/r1099/x`, { headers: { host: 'web-b' } })).backend).toBe('b');
      expect(await backendOf()).toBe('a');
    } finally {
      big.remove();
    }
  });
});

describe('starting on a bad config', () => {
  it('serves nothing and is not ready until a valid config appears, then goes live', async () => {
    await wp.stop();
    const bad = new ConfigDir();
    bad.write('x.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: "unterminated }\n');
    const { WaypointProcess } = await import('./harness.ts');
    const p = new WaypointProcess(['run', '--config', bad.path, '--http-listen', '127.0.0.1:0=80', '--admin', '127.0.0.1:0', '--stats', 'off', '--health', 'off', '--hbone-listen', 'off', '--upstream', 'plain']);
    try {
      await p.waitForLog((l) => l.msg.startsWith('config rejected'));
      await p.waitForLog((l) => l.listener === 'admin');
      const ready = await send(`${p.admin}/ready`);
      expect([ready.status, ready.body]).toEqual([503, 'INITIALIZING\n']);
      bad.write('x.yaml', services());
      await p.waitForLog((l) => String(l.listener ?? '').startsWith('http '));
      expect(await eventually(async () => (await send(`${p.admin}/ready`)).body === 'LIVE\n')).toBe(true);
      expect(json(await send(`${p.base}/`, { headers: { host: 'web' } })).backend).toBe('a');
    } finally {
      await p.stop();
      bad.remove();
    }
  });

  it('rejects a large config with an invalid field (checked in the worker thread) by file:line:col, and goes live once it is fixed', async () => {
    await wp.stop();
    const bad = new ConfigDir();
    const routes = Array.from({ length: 1100 }, (_, i) => meshRoute(`r${i}`, 'web-b', `[{ matches: [{ path: { type: PathPrefix, value: /big/r${i} } }], backendRefs: [{ name: web-b, port: 80 }] }]`)).join('');
    const broken = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: broken }\nspec:\n  rules:\n    - backendRefs: [{ name: web-b, port: "eighty" }]\n';
    const file = bad.write('x.yaml', `${services()}\n${routes}---\n${broken}`);
    const line = `${services()}\n${routes}---\n`.split('\n').length + 5;
    const { WaypointProcess } = await import('./harness.ts');
    const p = new WaypointProcess(['run', '--config', bad.path, '--http-listen', '127.0.0.1:0=80', '--admin', '127.0.0.1:0', '--stats', 'off', '--health', 'off', '--hbone-listen', 'off', '--upstream', 'plain']);
    try {
      const rejected = await p.waitForLog((l) => l.msg.startsWith('config rejected'));
      expect(rejected.errors).toEqual([`${file}:${line}:36 HTTPRoute/default/broken spec.rules[0].backendRefs[0].port: must be integer`]);
      await p.waitForLog((l) => l.listener === 'admin');
      expect((await send(`${p.admin}/ready`)).status).toBe(503);
      bad.write('x.yaml', `${services()}\n${routes}`);
      const loaded = await p.waitForLog((l) => l.msg.includes(' in force'));
      expect([loaded.loader, loaded.httpRoutes]).toEqual(['worker', 1100]);
      expect(await eventually(async () => (await send(`${p.admin}/ready`)).body === 'LIVE\n')).toBe(true);
      expect(json(await send(`${p.base}/big/r7/x`, { headers: { host: 'web-b' } })).backend).toBe('b');
    } finally {
      await p.stop();
      bad.remove();
    }
  });
});
