import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfig } from '@waypoint/config';
import { modifyPath, Router, type RouteDecision } from '../src/index.ts';
import { request, svc, where } from './helpers.ts';

/** Pods with labels behind a Service `reviews` (v1 at 10.0.0.1, v2 at 10.0.0.2, v3 at 10.0.0.3). */
const reviews = `
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec: { clusterIP: 10.96.0.10, ports: [{ name: http, port: 9080, targetPort: 9080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-s, namespace: default, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
ports: [{ name: http, port: 9080 }]
endpoints:
${[1, 2, 3].map((v) => `- { addresses: [10.0.0.${v}], targetRef: { kind: Pod, name: reviews-v${v} } }`).join('\n')}
${[1, 2, 3]
  .map(
    (v) => `---
apiVersion: v1
kind: Pod
metadata: { name: reviews-v${v}, namespace: default, labels: { app: reviews, version: v${v} } }
spec: { serviceAccountName: reviews }
status: { podIP: 10.0.0.${v} }`,
  )
  .join('\n')}
`;

const dr = (extra = '') => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 }${extra} }
`;

const vs = (http: string, name = 'reviews', meta = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default${meta} }
spec:
  hosts: [reviews]
  http: ${http}
`;

function build(...docs: string[]): { router: Router; lines: string[] } {
  const r = loadConfig([{ file: 'vs.yaml', text: docs.join('\n---\n') }], { defaultNamespace: 'default' });
  if (!r.ir) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return { router: new Router(r.ir, { namespace: 'default' }), lines: r.diagnostics.map(formatDiagnostic) };
}

/** The endpoint a decision forwards to (first pick), or the decision's shape. */
const endpointOf = (d: RouteDecision) => (d.kind === 'forward' ? d.target.endpoints.pick()?.address ?? 'none' : where(d));
const go = (router: Router, path: string, init: Parameters<typeof request>[1] & { principal?: string } = {}) =>
  router.routePlain(80, 'reviews:9080', {
    ...request(path, { ...init, headers: { host: 'reviews:9080', ...init.headers } }),
    ...(init.principal ? { sourcePrincipal: init.principal } : {}),
  });

describe('VirtualService matching: routes in order, first match wins', () => {
  const { router } = build(
    reviews,
    dr(),
    vs(`
  - name: by-header
    match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - name: plain-prefix
    match: [{ uri: { prefix: /api } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - name: exact-any-case
    match: [{ uri: { exact: /Health }, ignoreUriCase: true }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - name: regex-and-method
    match: [{ uri: { regex: "/v[0-9]+/.*" }, method: { exact: POST } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - name: query-and-without
    match: [{ queryParams: { debug: { exact: "1" } }, withoutHeaders: { x-skip: { prefix: "" } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - name: authority
    match: [{ authority: { prefix: reviews } , uri: { prefix: /auth } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - name: source-namespace
    match: [{ sourceNamespace: frontend }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - name: other-port
    match: [{ port: 9999 }]
    route: [{ destination: { host: reviews, subset: v3 } }]`),
  );

  it.each([
    ['a header match, before everything after it', '/api/x', { headers: { 'end-user': 'jason' } }, '10.0.0.2'],
    ['a uri prefix as a plain string prefix (not per path segment)', '/apixyz', {}, '10.0.0.3'],
    ['ignoreUriCase', '/HEALTH', {}, '10.0.0.3'],
    ['a regex with a method', '/v2/things', { method: 'POST' }, '10.0.0.2'],
    ['the same regex with another method: no route', '/v2/things', { method: 'GET' }, 'status:404'],
    ['a query parameter', '/q?debug=1', {}, '10.0.0.2'],
    ['withoutHeaders: the header present turns the match off', '/q?debug=1', { headers: { 'x-skip': 'anything' } }, 'status:404'],
    ['authority', '/auth', {}, '10.0.0.2'],
    ['sourceNamespace from the HBONE peer identity', '/x', { principal: 'spiffe://cluster.local/ns/frontend/sa/web' }, '10.0.0.3'],
    ['sourceNamespace unknown on the plain listener', '/x', {}, 'status:404'],
  ])('%s', (_name, path, init, expected) => {
    expect(endpointOf(go(router, path, init))).toBe(expected);
  });

  it('takes an empty match ({}) of a header or query parameter as "present", and of withoutHeaders as "absent"', () => {
    const { router: r } = build(
      reviews,
      dr(),
      vs(`
  - match: [{ headers: { x-canary: {} }, withoutHeaders: { x-legacy: {} } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ queryParams: { trace: {} } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]`),
    );
    expect(endpointOf(go(r, '/x', { headers: { 'x-canary': '' } }))).toBe('10.0.0.2');
    expect(endpointOf(go(r, '/x', { headers: { 'x-canary': 'no' } }))).toBe('10.0.0.2');
    expect(endpointOf(go(r, '/x', { headers: { 'x-canary': 'yes', 'x-legacy': '1' } }))).toBe('10.0.0.1');
    expect(endpointOf(go(r, '/x?trace'))).toBe('10.0.0.3');
    expect(endpointOf(go(r, '/x?other=1'))).toBe('10.0.0.1');
    expect(r.explain({ kind: 'plain', gatewayPort: 80 }, 'reviews:9080', request('/x')).candidates[0]!.result).toBe('lost: header x-canary is absent');
  });

  it('explains VirtualService routes in order', () => {
    const t = router.explain({ kind: 'plain', gatewayPort: 80 }, 'reviews:9080', request('/v2/x', { method: 'POST' }));
    expect(t.candidates.slice(0, 4).map((c) => `${c.kind} ${c.rule}: ${c.result}`)).toEqual([
      'VirtualService 0: lost: header end-user is absent',
      'VirtualService 1: lost: uri "/v2/x" is not prefix "/api"',
      'VirtualService 2: lost: uri "/v2/x" is not exact "/Health"',
      'VirtualService 3: chosen',
    ]);
    expect(t.candidates[7]!.result).toBe('not reached');
    expect(t.backends[0]!.outcome).toBe('forward to Service default/reviews port 9080 subset v2 (inbound-vip|9080|http/v2|reviews.default.svc.cluster.local), HTTP/1.1 upstream');
  });
});

describe('VirtualService actions', () => {
  const { router, lines } = build(
    reviews,
    svc('ratings', ['10.0.1.1'], 'default', '10.96.0.11'),
    dr(),
    vs(`
  - match: [{ uri: { prefix: /split } }]
    route: [{ destination: { host: reviews, subset: v1 }, weight: 75 }, { destination: { host: reviews, subset: v3 }, weight: 25 }]
  - match: [{ uri: { prefix: /old } }]
    redirect: { uri: /new, authority: ratings, redirectCode: 302 }
  - match: [{ uri: { exact: /teapot } }]
    directResponse: { status: 418, body: { string: "short and stout" } }
  - match: [{ uri: { prefix: /legacy } }]
    rewrite: { uri: /v2, authority: ratings.default }
    route: [{ destination: { host: ratings, port: { number: 80 } } }]
    headers: { request: { set: { x-from: legacy } }, response: { remove: [server] } }
    timeout: 2s
    retries: { attempts: 4, retryOn: "5xx,409" }
  - match: [{ uri: { prefix: /re } }]
    rewrite: { uriRegexRewrite: { match: "^/re/([a-z]+)", rewrite: "/api/\\\\1" } }
    route: [{ destination: { host: reviews, subset: nope } }]
  - match: [{ uri: { prefix: /faulty } }]
    fault: { abort: { httpStatus: 503, percentage: { value: 100 } }, delay: { fixedDelay: 1.5s, percentage: { value: 10 } } }
    route: [{ destination: { host: reviews } }]`),
  );

  it('splits by weight between subsets', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const a = endpointOf(go(router, '/split'));
      counts[a] = (counts[a] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(counts['10.0.0.1']! / 4000).toBeGreaterThan(0.7);
    expect(counts['10.0.0.1']! / 4000).toBeLessThan(0.8);
  });

  it('redirects, and answers directly', () => {
    const r = go(router, '/old/page');
    expect(r.kind === 'redirect' && r.redirect).toEqual({ statusCode: 302, hostname: 'ratings', path: { type: 'ReplaceFullPath', value: '/new' } });
    const d = go(router, '/teapot');
    expect(d.kind === 'local' && [d.status, d.body, d.details]).toEqual([418, 'short and stout', 'direct_response']);
  });

  it('rewrites after a prefix match as a plain prefix, sets the authority, carries headers, timeout and retries', () => {
    const d = go(router, '/legacy/items');
    if (d.kind !== 'forward') throw new Error(d.kind);
    expect(d.target.service.key).toBe('default/ratings');
    expect(d.actions?.rewrite?.path).toEqual({ type: 'ReplacePlainPrefix', prefix: '/legacy', value: '/v2' });
    expect(d.actions?.requestHeaders?.set).toEqual([
      { name: 'x-from', value: 'legacy' },
      { name: 'host', value: 'ratings.default' },
    ]);
    expect(d.actions?.responseHeaders?.remove).toEqual(['server']);
    expect(d.actions?.timeoutMs).toBe(2000);
    expect(d.retry.numRetries).toBe(4);
    expect([...d.retry.statuses].includes(409) && d.retry.statuses.has(500)).toBe(true);
  });

  it('an unknown subset is a warning and 503 (cluster not found) at runtime', () => {
    expect(lines.some((l) => /http\[4\]\.route\[0\]\.destination: no DestinationRule defines subset "nope" for Service default\/reviews; requests for it get 503/.test(l))).toBe(true);
    const d = go(router, '/re/abc');
    expect(d.kind === 'local' && [d.status, d.flag]).toEqual([503, 'NC']);
  });

  it('carries fault injection to the proxy', () => {
    const d = go(router, '/faulty');
    expect(d.kind === 'forward' && d.actions?.fault).toEqual({ delay: { ms: 1500, fraction: 0.1 }, abort: { httpStatus: 503, fraction: 1 } });
  });

  it('answers 404 when no route matches', () => {
    expect(where(go(router, '/nothing-matches'))).toBe('status:404');
  });
});

describe('rewrite.uri replaces what the route matched (Envoy prefix_rewrite, as Istio sets it)', () => {
  const { router } = build(
    reviews,
    dr(),
    vs(`
  - match: [{ uri: { prefix: /api/ } }]
    rewrite: { uri: /v2/ }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /CASE }, ignoreUriCase: true }]
    rewrite: { uri: /lower }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { exact: /exact } }]
    rewrite: { uri: /whole }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { regex: "/re/[0-9]+" } }]
    rewrite: { uri: /whole }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ headers: { x-any: { exact: "1" } } }]
    rewrite: { uri: /hdr }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - rewrite: { uri: /v3 }
    route: [{ destination: { host: reviews, subset: v1 } }]`),
  );
  const rewritten = (path: string, headers: Record<string, string> = {}) => {
    const d = go(router, path, { headers });
    const mod = d.kind === 'forward' ? d.actions?.rewrite?.path : undefined;
    return mod ? modifyPath(path, mod, undefined) : path;
  };
  it.each([
    ['/api/items', {}, '/v2/items'],
    ['/case/x', {}, '/lower/x'],
    ['/exact', {}, '/whole'],
    ['/re/42', {}, '/whole'],
    ['/a/b', { 'x-any': '1' }, '/hdra/b'],
    ['/anything', {}, '/v3anything'],
  ])('%s %o → %s', (path, headers, expected) => expect(rewritten(path, headers)).toBe(expected));
});

describe('VirtualService and HTTPRoute, VirtualService and VirtualService', () => {
  it('an HTTPRoute for the same Service wins, and the VirtualService is reported shadowed', () => {
    const { router, lines } = build(
      reviews,
      vs(`[{ directResponse: { status: 418 } }]`),
      `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews-route, namespace: default }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews }]
  rules: [{ backendRefs: [{ name: reviews, port: 9080 }] }]
`,
    );
    expect(go(router, '/').kind).toBe('forward');
    expect(lines.some((l) => l.includes('VirtualService/default/reviews spec.hosts[0]: shadowed: HTTPRoute default/reviews-route also routes Service default/reviews, and the route wins (as in Istio)'))).toBe(true);
  });

  it('of two VirtualServices for one Service the older wins; the other is reported', () => {
    const { router, lines } = build(
      reviews,
      vs(`[{ directResponse: { status: 201 } }]`, 'newer', ', creationTimestamp: "2026-02-01T00:00:00Z"'),
      vs(`[{ directResponse: { status: 202 } }]`, 'older', ', creationTimestamp: "2026-01-01T00:00:00Z"'),
    );
    expect(where(go(router, '/'))).toBe('status:202');
    expect(lines.some((l) => l.includes('VirtualService/default/newer spec.hosts[0]: conflicts with VirtualService default/older'))).toBe(true);
  });
});

describe('DestinationRule load balancing', () => {
  const withPolicy = (lb: string, subsetExtra = '') => build(reviews, dr(subsetExtra).replace('  subsets:', `  trafficPolicy: { loadBalancer: ${lb} }\n  subsets:`)).router;
  const picks = (router: Router, n: number, key?: number) => {
    const t = router.target('default/reviews', 9080)!;
    return Array.from({ length: n }, () => t.endpoints.pick(key)?.address);
  };

  it('ROUND_ROBIN (and no policy) cycles through ready endpoints', () => {
    expect(picks(withPolicy('{ simple: ROUND_ROBIN }'), 6)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('RANDOM reaches every endpoint', () => {
    expect(new Set(picks(withPolicy('{ simple: RANDOM }'), 300)).size).toBe(3);
  });

  it('LEAST_REQUEST prefers endpoints with fewer requests in flight', () => {
    const t = withPolicy('{ simple: LEAST_REQUEST }').target('default/reviews', 9080)!;
    expect(t.endpoints.policy).toBe('least request');
    // Without releases every pick stays in flight: the spread stays even (power of two choices).
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const a = t.endpoints.pick()!.address;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(Math.abs(n - 100)).toBeLessThanOrEqual(3);
  });

  it.each([
    ['ring hash', '{ consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 1024 } } }', 'ring hash (1024 points)'],
    ['maglev', '{ consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 1021 } } }', 'maglev (1021 entries)'],
  ])('%s: one key always goes to one endpoint, and keys spread over all', (_name, lb, policy) => {
    const t = withPolicy(lb).target('default/reviews', 9080)!;
    expect(t.endpoints.policy).toBe(policy);
    expect(t.hash).toEqual({ kind: 'header', name: 'x-user' });
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const h = (Math.imul(k + 1, 2654435761) >>> 0) ^ 0x5bd1e995;
      const first = t.endpoints.pick(h)!.address;
      for (let i = 0; i < 3; i++) expect(t.endpoints.pick(h)!.address).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBe(3);
  });

  it('a subset’s own policy overrides the rule’s', () => {
    const withSubset = dr(', trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }').replace('  subsets:', '  trafficPolicy: { loadBalancer: { simple: RANDOM } }\n  subsets:');
    const { router } = build(reviews, withSubset, vs(`[{ route: [{ destination: { host: reviews, subset: v3 } }] }]`));
    const fwd = go(router, '/');
    expect(fwd.kind === 'forward' && [fwd.target.endpoints.policy, fwd.target.endpoints.size]).toEqual(['least request', 1]);
    expect(router.target('default/reviews', 9080)!.endpoints.policy).toBe('random');
  });
});

describe('DestinationRule resilience settings', () => {
  it('are handed to each target as written, port-level and subset settings first', () => {
    const rule = dr(', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } }').replace(
      '  subsets:',
      '  trafficPolicy: { connectionPool: { http: { http2MaxRequests: 100 } }, outlierDetection: { consecutive5xxErrors: 5 }, portLevelSettings: [{ port: { number: 9080 }, connectionPool: { tcp: { maxConnections: 7 } } }] }\n  subsets:',
    );
    const { router } = build(reviews, rule, vs(`[{ route: [{ destination: { host: reviews, subset: v3 } }] }]`));
    expect(router.target('default/reviews', 9080)!.resilience).toEqual({ connectionPool: { tcp: { maxConnections: 7 } }, outlierDetection: { consecutive5xxErrors: 5 } });
    const v3 = go(router, '/');
    expect(v3.kind === 'forward' && v3.target.resilience).toEqual({ connectionPool: { tcp: { maxConnections: 7 } }, outlierDetection: { consecutive5xxErrors: 1 } });
  });
});

describe('delegate VirtualServices', () => {
  const delegate = (http: string, name = 'reviews-delegate', ns = 'default') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${ns} }
spec:
  http: ${http}
`;
  const { router, lines } = build(
    reviews,
    dr(),
    vs(`
  - match: [{ uri: { prefix: /api } }]
    delegate: { name: reviews-delegate }
  - match: [{ uri: { prefix: /other } }]
    delegate: { name: missing }
  - route: [{ destination: { host: reviews, subset: v1 } }]`),
    delegate(`
  - match: [{ uri: { prefix: /api/v2 }, headers: { x-beta: { exact: "1" } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { prefix: /elsewhere } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v3 } }]`),
  );

  it('routes within the delegating route’s matches with the delegate’s routes, in order', () => {
    expect(endpointOf(go(router, '/api/v2/x', { headers: { 'x-beta': '1' } }))).toBe('10.0.0.2');
    expect(endpointOf(go(router, '/api/v2/x'))).toBe('10.0.0.3');
    expect(endpointOf(go(router, '/api/other'))).toBe('10.0.0.3');
    expect(endpointOf(go(router, '/elsewhere'))).toBe('10.0.0.1'); // outside the root's /api: the delegate's route does not apply
  });

  it('reports a delegate route that cannot fit the root’s match, and a missing delegate', () => {
    expect(lines.some((l) => /VirtualService\/default\/reviews-delegate spec\.http\[1\]\.match: no match of this route fits within the delegating route's matches/.test(l))).toBe(true);
    expect(lines.some((l) => /spec\.http\[1\]\.delegate: no VirtualService default\/missing without hosts to delegate to/.test(l))).toBe(true);
  });
});

describe('retries avoid the endpoints already tried', () => {
  it.each(['{ simple: ROUND_ROBIN }', '{ simple: RANDOM }', '{ simple: LEAST_REQUEST }'])('%s picks an untried endpoint while one is ready, and any when none is', (lb) => {
    const { router } = build(reviews, dr().replace('  subsets:', `  trafficPolicy: { loadBalancer: ${lb} }\n  subsets:`));
    const picker = router.target('default/reviews', 9080)!.endpoints;
    const all = Array.from({ length: 30 }, () => picker.pick()!);
    const [a, b, c] = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => all.find((e) => e.address === ip)!);
    for (let i = 0; i < 50; i++) expect(picker.pick(undefined, [a!, b!])!.address).toBe('10.0.0.3');
    expect(['10.0.0.1', '10.0.0.2', '10.0.0.3']).toContain(picker.pick(undefined, [a!, b!, c!])!.address);
  });
});
