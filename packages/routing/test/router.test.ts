import { describe, expect, it } from 'vitest';
import { describeUnreachable, parseHost, Router } from '../src/index.ts';
import { httpRoute, request, router, svc, where } from './helpers.ts';

const mesh = (name: string, rules: string, meta = '') => httpRoute(name, `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: ${rules} }`, meta);
const services = [svc('web', ['10.0.1.1'], 'default', '10.96.0.10'), svc('a', ['10.0.2.1'], 'default', '10.96.0.11'), svc('b', ['10.0.3.1'], 'default', '10.96.0.12')];

describe('mesh routing (Service parents)', () => {
  it('sends requests to the Service itself when no route names it', () => {
    const r = router(...services);
    expect(where(r.routePlain(80, 'web', request('/x')))).toBe('web');
    const d = r.routePlain(80, 'web', request('/x'));
    expect(d.routeName).toBe('default');
  });

  it('recognises every name of a Service and its clusterIP; the Host port picks the Service port', () => {
    const r = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80 }] }]'));
    for (const host of ['web', 'web.default', 'web.default.svc', 'web.default.svc.cluster.local', 'WEB.Default', '10.96.0.10', 'web:80', '10.96.0.10:80']) {
      expect(where(r.routePlain(80, host, request('/'))), host).toBe('a');
    }
    expect(where(r.routePlain(80, 'web:8080', request('/')))).toBe('status:404');
  });

  it('resolves short names only in the waypoint namespace', () => {
    const r = router(svc('far', ['10.0.9.1'], 'elsewhere', '10.96.9.9'));
    expect(r.serviceForHost('far')).toBeUndefined();
    expect(r.serviceForHost('far.elsewhere')?.name).toBe('far');
  });

  it('answers 404 when routes exist but none matches', () => {
    const r = router(...services, mesh('r', '[{ matches: [{ path: { type: Exact, value: /only } }], backendRefs: [{ name: a, port: 80 }] }]'));
    const d = r.routePlain(80, 'web', request('/other'));
    expect(d).toMatchObject({ kind: 'local', status: 404, flag: 'NR', body: '' });
  });
});

describe('precedence across routes', () => {
  it('orders Exact > longest PathPrefix > method > headers > query params', () => {
    const rules = `[
      { matches: [{ path: { type: PathPrefix, value: / } }], backendRefs: [{ name: a, port: 80 }] },
      { matches: [{ path: { type: PathPrefix, value: /api } }], backendRefs: [{ name: b, port: 80 }] },
      { matches: [{ path: { type: PathPrefix, value: /api/v1 } }], backendRefs: [{ name: web, port: 80 }] }
    ]`;
    const r = router(...services, mesh('r', rules));
    expect(where(r.routePlain(80, 'web', request('/api/v1/x')))).toBe('web');
    expect(where(r.routePlain(80, 'web', request('/api/v2')))).toBe('b');
    expect(where(r.routePlain(80, 'web', request('/apis')))).toBe('a');

    const r2 = router(
      ...services,
      mesh('first', '[{ matches: [{ path: { type: PathPrefix, value: /x }, headers: [{ name: h, value: "1" }] }], backendRefs: [{ name: a, port: 80 }] }]'),
      mesh('second', '[{ matches: [{ path: { type: PathPrefix, value: /x }, method: GET }], backendRefs: [{ name: b, port: 80 }] }]'),
      mesh('third', '[{ matches: [{ path: { type: Exact, value: /x } }], backendRefs: [{ name: web, port: 80 }] }]'),
    );
    expect(where(r2.routePlain(80, 'web', request('/x', { headers: { h: '1' } })))).toBe('web'); // Exact beats prefix
    expect(where(r2.routePlain(80, 'web', request('/x/y', { headers: { h: '1' } })))).toBe('b'); // method beats headers
    expect(where(r2.routePlain(80, 'web', request('/x/y', { method: 'POST', headers: { h: '1' } })))).toBe('a');
  });

  it('finds prefixes of every length, 30 characters and longer included', () => {
    const long = '/organisations/acme/projects/alpha/builds'; // 41 characters
    const rules = `[
      { matches: [{ path: { type: PathPrefix, value: /organisations } }], backendRefs: [{ name: a, port: 80 }] },
      { matches: [{ path: { type: PathPrefix, value: /organisations/acme/projects/al } }], backendRefs: [{ name: web, port: 80 }] },
      { matches: [{ path: { type: PathPrefix, value: ${long} } }], backendRefs: [{ name: b, port: 80 }] }
    ]`;
    const r = router(...services, mesh('r', rules));
    expect(where(r.routePlain(80, 'web', request(`${long}/42`)))).toBe('b');
    expect(where(r.routePlain(80, 'web', request(long)))).toBe('b');
    expect(where(r.routePlain(80, 'web', request('/organisations/acme/projects/al/x')))).toBe('web'); // 31 characters
    expect(where(r.routePlain(80, 'web', request('/organisations/acme/projects/alpha/buildsx')))).toBe('a');
  });

  it('breaks ties by oldest creationTimestamp, then namespace/name', () => {
    const rule = (to: string) => `[{ matches: [{ path: { type: PathPrefix, value: /t } }], backendRefs: [{ name: ${to}, port: 80 }] }]`;
    const older = router(...services, mesh('zz', rule('a'), ', creationTimestamp: "2024-01-01T00:00:00Z"'), mesh('aa', rule('b'), ', creationTimestamp: "2025-01-01T00:00:00Z"'));
    expect(where(older.routePlain(80, 'web', request('/t')))).toBe('a');
    const byName = router(...services, mesh('zz', rule('a')), mesh('aa', rule('b')));
    expect(where(byName.routePlain(80, 'web', request('/t')))).toBe('b');
  });

  it('keeps rule order within a route when nothing else differs', () => {
    const r = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80 }] }, { backendRefs: [{ name: b, port: 80 }] }]'));
    expect(where(r.routePlain(80, 'web', request('/')))).toBe('a');
  });
});

describe('weighted backends', () => {
  const count = (r: ReturnType<typeof router>, n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const w = where(r.routePlain(80, 'web', request('/')));
      seen[w] = (seen[w] ?? 0) + 1;
    }
    return seen;
  };

  it('splits traffic by weight', () => {
    const r = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80, weight: 80 }, { name: b, port: 80, weight: 20 }] }]'));
    const seen = count(r, 10_000);
    // 10,000 draws at p=0.8: the standard deviation is 40, so ±300 is far outside chance.
    expect(seen.a).toBeGreaterThan(7700);
    expect(seen.a).toBeLessThan(8300);
    expect(seen.a! + seen.b!).toBe(10_000);
  });

  it('never sends to a weight-0 backend, and answers 500 when all weights are 0 or there are no backends', () => {
    const zero = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80, weight: 0 }, { name: b, port: 80 }] }]'));
    expect(count(zero, 500)).toEqual({ b: 500 });
    const allZero = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80, weight: 0 }] }]'));
    expect(allZero.routePlain(80, 'web', request('/'))).toMatchObject({ kind: 'local', status: 500 });
    const none = router(...services, mesh('r', '[{ matches: [{ path: { type: Exact, value: / } }] }]'));
    expect(none.routePlain(80, 'web', request('/'))).toMatchObject({ kind: 'local', status: 500 });
  });

  it('gives an invalid backend its weight share as 500', () => {
    const r = router(...services, mesh('r', '[{ backendRefs: [{ name: a, port: 80 }, { name: missing, port: 80 }] }]'));
    const seen = count(r, 4000);
    expect(seen['status:500']).toBeGreaterThan(1700);
    expect(seen.a).toBeGreaterThan(1700);
  });
});

describe('Gateway routing and virtual hosts', () => {
  const gw = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: istio
  listeners:
    - { name: web, port: 80, protocol: HTTP }
    - { name: alt, port: 8080, protocol: HTTP, hostname: alt.test }
`;
  const gwRoute = (name: string, hostnames: string, to: string, extra = '') =>
    httpRoute(name, `{ parentRefs: [{ name: gw ${extra} }], hostnames: ${hostnames}, rules: [{ backendRefs: [{ name: ${to}, port: 80 }] }] }`);

  it('picks exact host, then the longest wildcard, then the catch-all; the Host port is ignored', () => {
    const r = router(...services, gw, gwRoute('exact', '[api.example.com]', 'a'), gwRoute('wild', '["*.example.com"]', 'b'), gwRoute('any', '[]', 'web', ', sectionName: web'));
    expect(where(r.routeGateway(80, 'api.example.com', request('/')))).toBe('a');
    expect(where(r.routePlain(80, 'api.example.com:31000', request('/')))).toBe('a');
    expect(where(r.routePlain(80, 'x.y.example.com', request('/')))).toBe('b');
    expect(where(r.routePlain(80, 'example.com', request('/')))).toBe('web');
    expect(where(r.routePlain(80, 'other.test', request('/')))).toBe('web');
  });

  it('serves only the routes of listeners on the accepting port', () => {
    const r = router(...services, gw, gwRoute('alt', '[]', 'a', ', sectionName: alt'));
    expect(where(r.routePlain(8080, 'alt.test', request('/')))).toBe('a');
    expect(where(r.routePlain(8080, 'other.test', request('/')))).toBe('status:404');
    expect(where(r.routePlain(80, 'alt.test', request('/')))).toBe('status:404');
  });

  it('routes a Host naming a Service by mesh rules even on a Gateway port', () => {
    const r = router(...services, gw, gwRoute('any', '[]', 'a'));
    expect(where(r.routePlain(80, 'b.default', request('/')))).toBe('b');
  });
});

describe('endpoints', () => {
  it('balances over ready endpoints only, least request first (Istio’s default)', () => {
    const r = router(`
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-s, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [10.0.0.1] }, { addresses: [10.0.0.2], conditions: { ready: false } }, { addresses: [10.0.0.3] }]
`);
    const d = r.routePlain(80, 'web', request('/'));
    if (d.kind !== 'forward') throw new Error('expected forward');
    expect(d.target.endpoints.policy).toBe('least request');
    // Every pick stays in flight (nothing is released), so least request keeps the two ready endpoints
    // near even: the less loaded wins whenever the two random choices differ (20,000 simulated runs of 40
    // picks never strayed more than 5 from 20).
    const picks = Array.from({ length: 40 }, () => d.target.endpoints.pick()?.address);
    expect(new Set(picks)).toEqual(new Set(['10.0.0.1', '10.0.0.3']));
    expect(Math.abs(picks.filter((a) => a === '10.0.0.1').length - 20)).toBeLessThanOrEqual(8);
  });

  it('has no endpoint to pick when none is ready', () => {
    const r = router(svc('web', []));
    const d = r.routePlain(80, 'web', request('/'));
    expect(d.kind === 'forward' && d.target.endpoints.pick()).toBeUndefined();
  });
});

describe('parseHost', () => {
  it.each([
    ['Example.COM', 'example.com', undefined],
    ['example.com:8080', 'example.com', 8080],
    ['[::1]:80', '::1', 80],
    ['[::1]', '::1', undefined],
    ['example.com:notaport', 'example.com', undefined],
    ['::1', '::1', undefined],
  ])('%s', (host, name, port) => expect(parseHost(host)).toEqual({ name, port }));
});

describe('backendRef filters', () => {
  const route = (backends: string) =>
    router(
      svc('a'),
      svc('b', ['10.0.0.9'], 'default', '10.96.0.9'),
      httpRoute(
        'r',
        `{ parentRefs: [{ group: "", kind: Service, name: a }], rules: [{
          filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-rule, value: "1" }, { name: x-who, value: rule }] } }],
          backendRefs: [${backends}] }] }`,
      ),
    );
  const ownFilters = `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-who, value: a }] } }, { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-served-by, value: a }] } }]`;
  const seenBy = (r: ReturnType<typeof router>) => {
    const seen = new Map<string, unknown>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const d = r.routePlain(80, 'a', request('/'));
      if (d.kind === 'forward') seen.set(d.target.service.name, { req: d.actions?.requestHeaders?.set, res: d.actions?.responseHeaders?.add });
    }
    return seen;
  };

  it('apply to that backend only; with one backend its own change of a header wins (one Envoy header parser, the route first)', () => {
    const seen = seenBy(route(`{ name: a, port: 80, ${ownFilters} }, { name: b, port: 80, weight: 0 }`));
    expect([...seen.keys()]).toEqual(['a']);
    expect(seen.get('a')).toEqual({ req: [{ name: 'x-rule', value: '1' }, { name: 'x-who', value: 'a' }], res: [{ name: 'x-served-by', value: 'a' }] });
  });

  it('with several weighted backends, apply first and the rule after, so the rule wins a header both set (Envoy weighted clusters)', () => {
    const seen = seenBy(route(`{ name: a, port: 80, weight: 1, ${ownFilters} }, { name: b, port: 80, weight: 1 }`));
    expect(seen.get('a')).toEqual({ req: [{ name: 'x-rule', value: '1' }, { name: 'x-who', value: 'rule' }], res: [{ name: 'x-served-by', value: 'a' }] });
    expect(seen.get('b')).toEqual({ req: [{ name: 'x-rule', value: '1' }, { name: 'x-who', value: 'rule' }], res: undefined });
  });
});

describe('unreachable matches', () => {
  it('reports a match with the same conditions as one that precedes it, the older route winning', () => {
    const r = router(
      svc('a'),
      httpRoute('new', `{ parentRefs: [{ group: "", kind: Service, name: a }], rules: [{ matches: [{ path: { type: PathPrefix, value: /api }, headers: [{ name: x, value: "1" }, { name: y, value: "2" }] }], backendRefs: [{ name: a, port: 80 }] }] }`, ', creationTimestamp: "2026-02-01T00:00:00Z"'),
      httpRoute(
        'old',
        `{ parentRefs: [{ group: "", kind: Service, name: a }], rules: [
          { matches: [{ path: { type: PathPrefix, value: /api }, headers: [{ name: y, value: "2" }, { name: x, value: "1" }] }], backendRefs: [{ name: a, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /api }, headers: [{ name: x, value: "1" }] }], backendRefs: [{ name: a, port: 80 }] } ] }`,
        ', creationTimestamp: "2026-01-01T00:00:00Z"',
      ),
    );
    expect(r.unreachableMatches().map((u) => describeUnreachable(u.parent, u.match))).toEqual([
      'HTTPRoute default/new rule 0 match 0 can never be chosen for Service default/a port 80: HTTPRoute default/old rule 0 match 0 has the same conditions and precedes it',
    ]);
  });
});

describe('Router.build (in slices)', () => {
  it('decides exactly as the constructor, yielding to the event loop between slices', async () => {
    const parts = [
      ...services,
      mesh('r1', '[{ matches: [{ path: { type: PathPrefix, value: /api } }], backendRefs: [{ name: b, port: 80 }] }]'),
      mesh('r2', '[{ matches: [{ path: { type: Exact, value: /x }, headers: [{ name: h, value: "1" }] }], backendRefs: [{ name: a, port: 80 }] }]'),
    ];
    const direct = router(...parts);
    const { loadConfig } = await import('@waypoint/config');
    const ir = loadConfig([{ file: 'c.yaml', text: parts.join('\n---\n') }], { defaultNamespace: 'default' }).ir!;
    // Queued before the build starts, this runs before it ends only if the build yields to the event loop.
    let interleaved = false;
    setImmediate(() => (interleaved = true));
    const sliced = await Router.build(ir, { namespace: 'default' }, 0);
    for (const [path, headers] of [['/api/v1', {}], ['/x', { h: '1' }], ['/x', {}], ['/other', {}]] as const) {
      expect(where(sliced.routePlain(80, 'web', request(path, { headers })))).toBe(where(direct.routePlain(80, 'web', request(path, { headers }))));
    }
    expect(interleaved).toBe(true);
  });
});
