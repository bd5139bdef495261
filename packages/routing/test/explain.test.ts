import { describe, expect, it } from 'vitest';
import { formatTrace } from '../src/index.ts';
import { httpRoute, request, router, svc } from './helpers.ts';

const r = router(
  svc('web', ['10.0.0.1', '10.0.0.2'], 'default', '10.96.0.1'),
  svc('canary', ['10.0.1.1'], 'default', '10.96.0.2'),
  httpRoute(
    'web',
    `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [
      { matches: [{ path: { type: Exact, value: /health } }], backendRefs: [{ name: web, port: 80 }] },
      { matches: [{ path: { type: PathPrefix, value: /api }, method: POST, headers: [{ name: x-canary, value: "yes" }], queryParams: [{ name: v, value: "2" }] }],
        filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: canary }] } }],
        backendRefs: [{ name: canary, port: 80, weight: 1 }, { name: web, port: 80, weight: 3 }, { name: web, port: 80, weight: 0 }] },
      { matches: [{ path: { type: PathPrefix, value: /old } }], filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 } }] },
      { matches: [{ path: { type: PathPrefix, value: / } }], backendRefs: [{ name: web, port: 80 }] } ] }`,
  ),
);
const plain = { kind: 'plain', gatewayPort: 80 } as const;

describe('explain', () => {
  it('reports each match in precedence order with the first condition that fails, then the chosen one', () => {
    const t = r.explain(plain, 'web', request('/api/x?v=1', { method: 'POST', headers: { 'x-canary': 'yes' } }));
    expect(t.selection).toEqual(['plain HTTP listener serving Gateway port 80', 'Host "web" names Service default/web', 'Service default/web port 80 (mesh routing)']);
    expect(t.candidates.map((c) => c.result)).toEqual([
      'lost: path "/api/x" is not exactly "/health"',
      'lost: query parameter v: "1" does not match "2"',
      'lost: path "/api/x" is not under prefix "/old"',
      'chosen',
    ]);
    expect(t.candidates[1]!.condition).toBe('PathPrefix /api, method POST, header x-canary = "yes", query v = "2"');
  });

  it('explains method and header mismatches', () => {
    const get = r.explain(plain, 'web', request('/api?v=2', { headers: { 'x-canary': 'yes' } }));
    expect(get.candidates[1]!.result).toBe('lost: method is GET, not POST');
    const noHeader = r.explain(plain, 'web', request('/api?v=2', { method: 'POST' }));
    expect(noHeader.candidates[1]!.result).toBe('lost: header x-canary is absent');
  });

  it('lists the chosen rule’s backends with their shares, filters, retry policy and endpoints; zero weights are left out', () => {
    const t = r.explain(plain, 'web', request('/api?v=2', { method: 'POST', headers: { 'x-canary': 'yes' } }));
    expect(t.candidates.map((c) => c.result)).toEqual(['lost: path "/api" is not exactly "/health"', 'chosen', 'not reached', 'not reached']);
    expect(t.backends.map((b) => [b.weight, b.share, b.outcome.split(' (')[0]])).toEqual([
      [1, 0.25, 'forward to Service default/canary port 80'],
      [3, 0.75, 'forward to Service default/web port 80'],
    ]);
    expect(t.backends[0]!.filters).toEqual(['request headers: set x-route, add -, remove -']);
    expect(t.backends[1]!.endpoints).toEqual([
      { address: '10.0.0.1:8080', ready: true },
      { address: '10.0.0.2:8080', ready: true },
    ]);
    expect(t.backends[1]!.retry).toMatch(/^2 retries on connect-failure, refused-stream/);
    expect(formatTrace(t).join('\n')).toContain('weight 3 (75%): forward to Service default/web port 80');
  });

  it('shows where a redirect sends the client', () => {
    const t = r.explain(plain, 'web:80', request('/old/page?q=1'));
    // No port and no scheme on the filter: the route's port (Istio's FROM_REQUEST_PORT), written out as Envoy does.
    expect(t.backends.map((b) => b.outcome)).toEqual(['redirect 301 to http://web:80/new/page?q=1']);
  });

  it('explains tunnels: a Service clusterIP, a workload, an unknown address', () => {
    expect(r.explain({ kind: 'tunnel', ip: '10.96.0.1', port: 80 }, 'anything', request('/health')).candidates[0]!.result).toBe('chosen');
    const workload = r.explain({ kind: 'tunnel', ip: '10.0.0.2', port: 8080 }, undefined, request('/'));
    expect(workload.selection).toContain('a workload address, not a Service: straight to it');
    expect(workload.backends[0]!.outcome).toBe('straight to workload 10.0.0.2:8080 (inbound-pod|8080||10.0.0.2)');
    const unknown = r.explain({ kind: 'tunnel', ip: '10.9.9.9', port: 80 }, undefined, request('/'));
    expect([unknown.selection[1], unknown.backends[0]!.outcome]).toEqual(['no Service or workload has this address', 'local reply 404 (NR, route_not_found)']);
  });

  it('says when a Service has no routes (Istio’s default route) and when nothing takes the Host', () => {
    expect(r.explain(plain, 'canary', request('/')).selection).toContain('no HTTPRoute or GRPCRoute is attached: Istio’s default route to the Service itself');
    expect(r.explain(plain, 'nowhere.test', request('/')).selection).toContain('no Gateway listener on port 80 has routes');
  });
});
