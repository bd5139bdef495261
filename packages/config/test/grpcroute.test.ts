import { describe, expect, it } from 'vitest';
import { docs, load, service } from './helpers.ts';

const grpcRoute = (rules: string, extra = '') => `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: g }
spec:
  parentRefs: [{ group: "", kind: Service, name: greeter }${extra}]
  rules: ${rules}
`;

describe('GRPCRoute', () => {
  it.each([
    ['service and method', '{ service: helloworld.Greeter, method: SayHello }', { type: 'Exact', value: '/helloworld.Greeter/SayHello' }],
    ['service only', '{ service: helloworld.Greeter }', { type: 'PathPrefix', value: '/helloworld.Greeter' }],
    ['method only', '{ method: SayHello }', { type: 'RegularExpression', value: '/[^/]+/SayHello' }],
    ['regular expressions', '{ type: RegularExpression, service: "helloworld\\\\..*", method: "Say.*" }', { type: 'RegularExpression', value: '/helloworld\\..*/Say.*' }],
    ['a service regex only', '{ type: RegularExpression, service: "a\\\\.b" }', { type: 'RegularExpression', value: '/a\\.b/[^/]+' }],
  ])('turns a method match on %s into a path match, as Istio does', (_name, method, path) => {
    const r = load(docs(service('greeter'), grpcRoute(`[{ matches: [{ method: ${method}, headers: [{ name: X-Canary, value: "yes" }] }], backendRefs: [{ name: greeter, port: 80 }] }]`)));
    expect(r.lines.filter((l) => !l.includes('EndpointSlice'))).toEqual([]);
    const route = r.ir!.httpRoutes[0]!;
    expect(route.kind).toBe('GRPCRoute');
    expect(route.rules[0]!.matches[0]).toEqual({ path, headers: [{ type: 'Exact', name: 'x-canary', value: 'yes' }], queryParams: [] });
  });

  it('matches every call without a method match', () => {
    const r = load(docs(service('greeter'), grpcRoute('[{ backendRefs: [{ name: greeter, port: 80 }] }]')));
    expect(r.ir!.httpRoutes[0]!.rules[0]!.matches[0]!.path).toEqual({ type: 'PathPrefix', value: '/' });
  });

  it.each([
    ['a method match with neither service nor method', '{ method: {} }', /matches\[0\]\.method: needs service or method \(or both\)/],
    ['an Exact service that is not a gRPC name', '{ method: { service: "hello world" } }', /method\.service: not a gRPC service name: "hello world"/],
    ['an Exact method that is not a gRPC name', '{ method: { method: "Say/Hello" } }', /method\.method: not a gRPC method name: "Say\/Hello"/],
    ['a regex that does not compile', '{ method: { type: RegularExpression, method: "(" } }', /method\.method: invalid regular expression/],
    ['a filter GRPCRoute does not have', null, /filters\[0\]\.type: must be one of "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"/],
  ])('rejects %s', (_name, match, pattern) => {
    const rule = match
      ? `[{ matches: [${match}], backendRefs: [{ name: greeter, port: 80 }] }]`
      : '[{ filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 301 } }], backendRefs: [{ name: greeter, port: 80 }] }]';
    const r = load(docs(service('greeter'), grpcRoute(rule)));
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => pattern.test(l)), r.lines.join('\n')).toBe(true);
  });

  it('attaches to a Gateway listener only when allowedRoutes.kinds lists GRPCRoute', () => {
    const gateway = (kinds: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: example
  listeners: [{ name: http, port: 80, protocol: HTTP, allowedRoutes: { kinds: [${kinds}] } }]
`;
    const route = `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: g }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ backendRefs: [{ name: greeter, port: 80 }] }]
`;
    const accepted = (kinds: string) => load(docs(service('greeter'), gateway(kinds), route)).ir!.httpRoutes[0]!.status[0]!.conditions[0];
    expect(accepted('{ kind: GRPCRoute }')).toMatchObject({ status: 'True' });
    expect(accepted('{ kind: HTTPRoute }')).toMatchObject({ status: 'False', reason: 'NotAllowedByListeners', message: 'no listener of Gateway default/gw allows GRPCRoutes from namespace default' });
  });
});
