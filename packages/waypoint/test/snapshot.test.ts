import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotStore } from '../src/snapshot.ts';

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { clusterIP: 10.96.0.${name.length}, ports: [{ name: http, port: 80 }] }
`;

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const store = () => {
  dir = mkdtempSync(join(tmpdir(), 'waypoint-snapshot-'));
  writeFileSync(join(dir, 'config.yaml'), service('web'));
  return new SnapshotStore([dir], 'default');
};

describe('loading a config in a worker thread (loadAsync)', () => {
  it('gives the same snapshot as loading on the main thread, and says where it loaded', async () => {
    const main = store();
    const a = await main.loadAsync(Infinity);
    const other = new SnapshotStore([dir], 'default');
    const b = await other.loadAsync(0);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.snapshot.ir).toEqual(a.snapshot.ir);
    expect([a.snapshot.loader, b.snapshot.loader]).toEqual(['main', 'worker']);
    expect(b.snapshot.router.routePlain(80, 'web', { method: 'GET', path: '/', query: '', headers: {} }).routeName).toBe('default');
  });

  it('rejects an invalid config from the worker with its diagnostics, and keeps the version in force', async () => {
    const s = store();
    expect((await s.loadAsync(Infinity)).ok).toBe(true);
    writeFileSync(join(dir, 'config.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: "unterminated }\n');
    const r = await s.loadAsync(0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics.some((d) => d.severity === 'error' && d.message.includes('YAML'))).toBe(true);
    expect(s.current?.version).toBe(1);
  });

  it('reads a result of many chunks to the end, after the worker has exited', async () => {
    const s = store();
    const routes = Array.from({ length: 1000 }, (_, i) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r-${i} }
spec:
  parentRefs: [{ group: "", kind: Service, name: web }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: /r${i} } }], backendRefs: [{ name: web, port: 80 }] }]`);
    writeFileSync(join(dir, 'config.yaml'), [service('web'), ...routes].join('\n---\n'));
    const r = await s.loadAsync(0);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.snapshot.ir.httpRoutes).toHaveLength(1000);
  });

  it('loads a config whose text differs from the one in force by one character', async () => {
    const s = store();
    expect((await s.loadAsync(Infinity)).ok).toBe(true);
    writeFileSync(join(dir, 'config.yaml'), service('wem'));
    const r = await s.loadAsync(0);
    expect(r.ok && !r.unchanged && r.snapshot.version).toBe(2);
    if (r.ok) expect(r.snapshot.ir.services.map((x) => x.name)).toEqual(['wem']);
  });

  it('reports an unchanged config as unchanged without starting a worker', async () => {
    const s = store();
    expect((await s.loadAsync(Infinity)).ok).toBe(true);
    const r = await s.loadAsync(0);
    expect(r.ok && r.unchanged).toBe(true);
  });
});
