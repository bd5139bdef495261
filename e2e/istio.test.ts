/**
 * Istio VirtualService and DestinationRule through the process: subsets by Pod labels, fault injection,
 * direct responses, rewrites, and consistent hashing by cookie (issued by the waypoint when absent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, json, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let v1: Backend, v2: Backend, v3: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;

beforeAll(async () => {
  [v1, v2, v3] = await Promise.all([startBackend('reviews-v1'), startBackend('reviews-v2'), startBackend('reviews-v3')]);
  // Three pods on three loopback addresses, one port each: the EndpointSlice names the pods, the pods carry version labels.
  const pods = [
    { ip: '127.0.0.1', port: v1.port, version: 'v1' },
    { ip: '127.0.0.1', port: v2.port, version: 'v2' },
    { ip: '127.0.0.1', port: v3.port, version: 'v3' },
  ];
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    `
apiVersion: v1
kind: Service
metadata: { name: reviews }
spec: { ports: [{ name: http, port: 9080 }] }
${pods
  .map(
    (p) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-${p.version}, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
ports: [{ name: http, port: ${p.port} }]
endpoints: [{ addresses: ["${p.ip}"], targetRef: { kind: Pod, name: reviews-${p.version} } }]
---
apiVersion: v1
kind: Pod
metadata: { name: reviews-${p.version}, labels: { app: reviews, version: ${p.version} } }
spec: { serviceAccountName: reviews }
status: { podIP: 127.0.0.${p.version.slice(1)}0 }`,
  )
  .join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - name: sticky
    labels: { app: reviews }
    trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: session, ttl: 60s } } } }
${serviceYaml('hashed', [{ port: v1.port }, { port: v2.port }, { port: v3.port }])}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: hashed }
spec:
  host: hashed
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 251 } } } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { prefix: /teapot } }]
    directResponse: { status: 418, body: { string: "I'm a teapot" } }
  - match: [{ uri: { prefix: /broken } }]
    fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /slow } }]
    fault: { delay: { fixedDelay: 300ms, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /legacy } }]
    rewrite: { uri: /api }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /sticky } }]
    route: [{ destination: { host: reviews, subset: sticky } }]
  - match: [{ uri: { prefix: /moved } }]
    redirect: { uri: /new-home, authority: elsewhere.example, redirectCode: 308 }
  - match: [{ uri: { regex: "/old/[a-z]+" } }]
    rewrite: { uriRegexRewrite: { match: "^/old/([a-z]+)", rewrite: '/new/\\1' } }
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { prefix: /decorated } }]
    headers:
      request: { set: { x-env: prod }, add: { x-added: "yes" }, remove: [x-secret] }
      response: { add: { x-resp: "1" }, remove: [x-backend] }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /team } }]
    delegate: { name: reviews-team }
  - route: [{ destination: { host: reviews, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-team }
spec:
  http:
  - match: [{ uri: { prefix: /team/beta }, headers: { x-beta: { exact: "1" } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`,
  );
  // The Pod IPs are not the endpoint addresses here: the EndpointSlice's targetRef ties endpoint to Pod.
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
});

afterAll(async () => {
  await wp?.stop();
  await Promise.all([v1?.close(), v2?.close(), v3?.close()]);
  dir?.remove();
});

const get = (path: string, headers: Record<string, string> = {}) => send(`${wp.base}${path}`, { headers: { host: 'reviews:9080', ...headers } });

describe('VirtualService through the process', () => {
  it('routes by header to a subset chosen by Pod labels, and the rest to v1', async () => {
    for (let i = 0; i < 3; i++) {
      expect(json(await get('/p', { 'end-user': 'jason' })).backend).toBe('reviews-v2');
      expect(json(await get('/p')).backend).toBe('reviews-v1');
    }
  });

  it('answers a direct response itself', async () => {
    const r = await get('/teapot');
    expect([r.status, r.body, r.headers['content-type']]).toEqual([418, "I'm a teapot", 'text/plain']);
  });

  it('injects an abort (FI) and a delay (DI)', async () => {
    const r = await get('/broken');
    expect([r.status, r.body]).toEqual([503, 'fault filter abort']);
    const start = performance.now();
    const slow = await get('/slow');
    expect(json(slow).backend).toBe('reviews-v1');
    expect(performance.now() - start).toBeGreaterThanOrEqual(290);
    const logged = () => wp.stdout.split('\n').filter((l) => l.includes('"path":"/broken"') || l.includes('"path":"/slow"'));
    for (let i = 0; i < 100 && logged().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const lines = logged();
    expect(lines.map((l) => JSON.parse(l).response_flags).sort()).toEqual(['DI', 'FI']);
  });

  it('rewrites the prefix it matched', async () => {
    expect(json(await get('/legacy/items?x=1')).url).toBe('/api/items?x=1');
  });

  it('redirects with the authority, path and code it names', async () => {
    const r = await get('/moved/x?q=1');
    expect([r.status, r.headers.location, r.body]).toEqual([308, 'http://elsewhere.example/new-home?q=1', '']);
  });

  it('rewrites the path with uriRegexRewrite, substituting the captured group', async () => {
    const seen = json(await get('/old/page'));
    expect([seen.backend, seen.url]).toEqual(['reviews-v2', '/new/page']);
  });

  it('sets, adds and removes request and response headers', async () => {
    const r = await get('/decorated', { 'x-env': 'dev', 'x-secret': 's' });
    const seen = json(r);
    expect([seen.headers['x-env'], seen.headers['x-added'], seen.headers['x-secret']]).toEqual(['prod', 'yes', undefined]);
    expect([r.headers['x-resp'], r.headers['x-backend']]).toEqual(['1', undefined]);
  });

  it('hands a delegated prefix to the delegate VirtualService, whose routes apply in order', async () => {
    expect(json(await get('/team/beta/x', { 'x-beta': '1' })).backend).toBe('reviews-v2');
    expect(json(await get('/team/beta/x')).backend).toBe('reviews-v1');
  });

  it('issues the consistent-hash cookie when absent, and the cookie keeps the client on one endpoint', async () => {
    const first = await get('/sticky');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/^session="[0-9a-f]{16}"; Max-Age=60; HttpOnly$/);
    const value = cookie.split(';')[0]!;
    const backend = json(first).backend;
    for (let i = 0; i < 6; i++) {
      const r = await get('/sticky', { cookie: value });
      expect(json(r).backend).toBe(backend);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });
});

describe('DestinationRule consistent hashing through the process', () => {
  it('sends one header value to one backend, and different values to several', async () => {
    const backendFor = async (user: string) => json(await send(`${wp.base}/h`, { headers: { host: 'hashed', 'x-user': user } })).backend;
    const seen = new Set<string>();
    for (let u = 0; u < 30; u++) {
      const first = await backendFor(`user-${u}`);
      expect(await backendFor(`user-${u}`)).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBeGreaterThan(1);
  });
});

