import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, json, meshRoute, rawExchange, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let v1: Backend, v2: Backend, all: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;

beforeAll(async () => {
  [v1, v2, all] = await Promise.all([startBackend('v1'), startBackend('v2'), startBackend('all')]);
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('web', [{ port: all.port }], '10.96.0.10'),
      serviceYaml('web-v1', [{ port: v1.port }]),
      serviceYaml('web-v2', [{ port: v2.port }]),
      serviceYaml('filtered', [{ port: all.port }]),
      serviceYaml('guarded', [{ port: all.port }]),
      serviceYaml('per-backend', [{ port: all.port }]),
      meshRoute(
        'per-backend',
        'per-backend',
        `
    - filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-rule, value: "1" }, { name: x-who, value: rule }] } }]
      backendRefs:
        - name: web-v1
          port: 80
          filters:
            - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-who, value: v1 }] } }
            - { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-served-by, value: v1 }] } }
`,
      ),
      meshRoute(
        'guarded',
        'guarded',
        `
    - filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: AuthFilter, name: strict } }]
      backendRefs: [{ name: web-v1, port: 80 }]
`,
      ),
      meshRoute(
        'filtered',
        'filtered',
        `
    - matches: [{ path: { type: PathPrefix, value: /redirect } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301 } }]
    - matches: [{ path: { type: PathPrefix, value: /old } }]
      filters: [{ type: URLRewrite, urlRewrite: { hostname: rewritten.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new } } }]
      backendRefs: [{ name: filtered, port: 80 }]
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: x-env, value: prod }], add: [{ name: x-added, value: "yes" }], remove: [x-secret] }
        - type: ResponseHeaderModifier
          responseHeaderModifier: { add: [{ name: x-resp, value: "1" }], remove: [x-backend] }
      backendRefs: [{ name: filtered, port: 80 }]
`,
      ),
      meshRoute(
        'web',
        'web',
        `
    - matches: [{ path: { type: Exact, value: /exact } }]
      backendRefs: [{ name: web-v2, port: 80 }]
    - matches: [{ headers: [{ name: x-version, value: v1 }] }]
      backendRefs: [{ name: web-v1, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /split } }]
      backendRefs: [{ name: web-v1, port: 80, weight: 1 }, { name: web-v2, port: 80, weight: 1 }]
    - matches: [{ path: { type: PathPrefix, value: /q }, queryParams: [{ name: env, value: prod }], method: POST }]
      backendRefs: [{ name: web-v2, port: 80 }]
    - matches: [{ path: { type: RegularExpression, value: "/re/[0-9]+" } }]
      backendRefs: [{ name: web-v1, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /missing } }]
      backendRefs: [{ name: not-there, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: web, port: 80 }]
`,
      ),
      `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ingress }
spec:
  gatewayClassName: istio
  listeners: [{ name: http, port: 80, protocol: HTTP, hostname: "*.example.com" }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: ingress }]
  hostnames: [shop.example.com]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /v2 } }]
      backendRefs: [{ name: web-v2, port: 80 }]
    - backendRefs: [{ name: web-v1, port: 80 }]
`,
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
});

afterAll(async () => {
  await wp?.stop();
  await Promise.all([v1?.close(), v2?.close(), all?.close()]);
  dir?.remove();
});

const via = async (path: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') =>
  json(await send(`${wp.base}${path}`, { method, headers: { host: 'web', ...headers } })).backend;

describe('mesh routing through the process', () => {
  it('routes by exact path, header, regex and default', async () => {
    expect(await via('/exact')).toBe('v2');
    expect(await via('/exact/more')).toBe('all');
    expect(await via('/anything', { 'x-version': 'v1' })).toBe('v1');
    expect(await via('/')).toBe('all');
  });

  it('ranks a regex path below every prefix, as Istio orders matches', async () => {
    // The catch-all PathPrefix / outranks RegularExpression /re/[0-9]+ whatever their lengths.
    expect(await via('/re/42')).toBe('all');
  });

  it('routes by query parameter and method together', async () => {
    expect(await via('/q?env=prod', {}, 'POST')).toBe('v2');
    expect(await via('/q?env=prod', {}, 'GET')).toBe('all');
    expect(await via('/q?env=dev', {}, 'POST')).toBe('all');
  });

  it('splits by weight', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await via('/split'));
    expect([...seen].sort()).toEqual(['v1', 'v2']);
  });

  it('accepts the Service clusterIP and full DNS name as Host', async () => {
    expect(await via('/exact', { host: '10.96.0.10' })).toBe('v2');
    expect(await via('/exact', { host: 'web.default.svc.cluster.local:80' })).toBe('v2');
  });

  it('answers 500 for a backendRef to a missing Service', async () => {
    const r = await send(`${wp.base}/missing`, { headers: { host: 'web' } });
    expect(r.status).toBe(500);
    expect(r.headers.server).toBe('istio-envoy');
  });
});

describe('backendRef filters through the process', () => {
  it('apply a backend’s own header modifiers after the rule’s, to requests sent to it and their responses', async () => {
    const r = await send(`${wp.base}/`, { headers: { host: 'per-backend' } });
    const seen = json(r);
    expect([seen.backend, seen.headers['x-rule'], seen.headers['x-who'], r.headers['x-served-by']]).toEqual(['v1', '1', 'v1', 'v1']);
  });
});

describe('a route Istio cannot convert', () => {
  it('is not programmed at all when a filter is an ExtensionRef: the Service gets its default route, and the status and warnings say why', async () => {
    const seen = json(await send(`${wp.base}/`, { headers: { host: 'guarded' } }));
    expect(seen.backend).toBe('all');
    const dump = JSON.parse((await send(`${wp.admin}/config_dump`)).body);
    const route = dump.config.httpRoutes.find((r: { name: string }) => r.name === 'guarded');
    expect(route.attachments).toEqual([]);
    expect(route.status[0].conditions[1]).toEqual({ type: 'ResolvedRefs', status: 'False', reason: 'InvalidFilter', message: 'unsupported filter type "ExtensionRef"' });
    expect(dump.warnings).toContainEqual(expect.stringContaining('HTTPRoute/default/guarded spec.rules[0].filters[0].type: unsupported filter type "ExtensionRef": the whole HTTPRoute is not programmed'));
  });
});

describe('HTTPRoute filters through the process', () => {
  it('RequestRedirect answers 301 with the Location built from the request', async () => {
    const r = await send(`${wp.base}/redirect/here?q=1`, { headers: { host: 'filtered:80' } });
    expect([r.status, r.headers.location, r.body]).toEqual([301, 'https://filtered/redirect/here?q=1', '']);
  });

  it('URLRewrite replaces the matched prefix and the host, and keeps the original path in x-envoy-original-path', async () => {
    const seen = json(await send(`${wp.base}/old/page?x=1`, { headers: { host: 'filtered' } }));
    expect(seen.url).toBe('/new/page?x=1');
    expect(seen.headers.host).toBe('rewritten.example');
    expect(seen.headers['x-envoy-original-path']).toBe('/old/page');
  });

  it('RequestHeaderModifier and ResponseHeaderModifier change what the backend and the client see', async () => {
    const r = await send(`${wp.base}/`, { headers: { host: 'filtered', 'x-env': 'dev', 'x-secret': 's' } });
    const seen = json(r);
    expect([seen.headers['x-env'], seen.headers['x-added'], seen.headers['x-secret']]).toEqual(['prod', 'yes', undefined]);
    expect([r.headers['x-resp'], r.headers['x-backend']]).toEqual(['1', undefined]);
  });
});

describe('Gateway routing through the process', () => {
  it('routes by listener hostname and path', async () => {
    expect(json(await send(`${wp.base}/v2/x`, { headers: { host: 'shop.example.com' } })).backend).toBe('v2');
    expect(json(await send(`${wp.base}/`, { headers: { host: 'shop.example.com:8080' } })).backend).toBe('v1');
  });

  it('answers 404 with an empty body for a host no route serves', async () => {
    const r = await send(`${wp.base}/`, { headers: { host: 'other.example.org' } });
    expect(r.status).toBe(404);
    expect(r.body).toBe('');
  });
});

describe('what the backend receives and the client gets back', () => {
  it('forwards the request with hop-by-hop headers removed and forwarding headers set', async () => {
    const raw = await rawExchange(
      wp.httpPort,
      'GET /h?x=1 HTTP/1.1\r\nHost: web\r\nConnection: close, X-Private\r\nX-Private: secret\r\nX-Forwarded-For: 203.0.113.7\r\nX-Custom: kept\r\nKeep-Alive: timeout=5\r\n\r\n',
    );
    const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, ''));
    expect(seen.headers['keep-alive']).toBeUndefined();
    const r = await send(`${wp.base}/h?x=1`, { headers: { host: 'web', 'x-forwarded-for': '203.0.113.7', 'x-custom': 'kept' } });
    expect(seen.url).toBe('/h?x=1');
    expect(seen.headers.host).toBe('web');
    expect(seen.headers['x-private']).toBeUndefined();
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(json(r).headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(r.headers.server).toBe('istio-envoy');
    expect(r.headers['x-hop']).toBeUndefined();
    expect(Number(r.headers['x-envoy-upstream-service-time'])).toBeGreaterThanOrEqual(0);
  });

  it('keeps a client x-request-id', async () => {
    expect(json(await send(`${wp.base}/`, { headers: { host: 'web', 'x-request-id': 'abc-123' } })).headers['x-request-id']).toBe('abc-123');
  });

  it('streams a large request body through', async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    const r = await send(`${wp.base}/upload`, { method: 'POST', headers: { host: 'web' }, body });
    expect(json(r).bodyBytes).toBe(body.length);
  });

  it('writes an access log line per request in Istio JSON format', async () => {
    await send(`${wp.base}/logged`, { headers: { host: 'web', 'user-agent': 'e2e-agent' } });
    const ok = await new Promise<boolean>((resolve) => {
      const check = () => wp.stdout.includes('"path":"/logged"');
      if (check()) return resolve(true);
      const t = setInterval(() => check() && (clearInterval(t), resolve(true)), 20);
      setTimeout(() => (clearInterval(t), resolve(false)), 3000);
    });
    expect(ok).toBe(true);
    const line = JSON.parse(wp.stdout.split('\n').find((l) => l.includes('"path":"/logged"'))!);
    expect(line).toMatchObject({ method: 'GET', response_code: 200, response_flags: '-', user_agent: 'e2e-agent', authority: 'web', route_name: 'default.web.6.0' });
    expect(line.upstream_cluster).toBe('inbound-vip|80|http|web.default.svc.cluster.local');
  });
});
