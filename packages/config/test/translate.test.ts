import { describe, expect, it } from 'vitest';
import { hostnameWithin, intersectHostnames } from '../src/index.ts';
import { docs, load, service, slice } from './helpers.ts';

const gateway = (listeners: string, ns = 'default') => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: ${ns} }
spec:
  gatewayClassName: istio
  listeners: ${listeners}
`;

const route = (name: string, spec: string, ns = 'default') => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
`;

describe('endpoints', () => {
  it('resolves Service ports to EndpointSlice ports by name, with readiness and the pod service account', () => {
    const r = load(
      docs(
        service('web', '[{ name: http, port: 80, targetPort: web }, { name: admin, port: 9000 }]'),
        `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }, { name: admin, port: 9901 }]
endpoints:
  - addresses: [10.1.0.1]
    conditions: { ready: true }
    targetRef: { kind: Pod, name: web-a }
  - addresses: [10.1.0.2]
    conditions: { ready: false }
  - addresses: [10.1.0.3]
`,
        `apiVersion: v1
kind: Pod
metadata: { name: web-a, labels: { app: web } }
spec: { serviceAccountName: web-sa }
status: { podIP: 10.1.0.1 }
`,
      ),
    );
    expect(r.lines).toEqual([]);
    const [http, admin] = r.ir!.services[0]!.ports;
    expect(http!.endpoints).toEqual([
      { address: '10.1.0.1', port: 8080, ready: true, pod: 'default/web-a', serviceAccount: 'web-sa' },
      { address: '10.1.0.2', port: 8080, ready: false },
      { address: '10.1.0.3', port: 8080, ready: true },
    ]);
    expect(admin!.endpoints.map((e) => e.port)).toEqual([9901, 9901, 9901]);
    expect(r.ir!.services[0]!.hostname).toBe('web.default.svc.cluster.local');
  });
});

describe('route attachment', () => {
  const base = docs(service('web'), slice('web', ['10.1.0.1']));

  it('attaches a mesh route to its Service, optionally to one port', () => {
    const r = load(docs(base, route('r', '{ parentRefs: [{ group: "", kind: Service, name: web, port: 80 }], rules: [{ backendRefs: [{ name: web, port: 80 }] }] }')));
    expect(r.ir!.httpRoutes[0]!.attachments).toEqual([{ kind: 'Service', service: 'default/web', port: 80 }]);
    expect(r.ir!.httpRoutes[0]!.status[0]!.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Accepted=True', 'ResolvedRefs=True']);
  });

  it('does not attach to a missing Service, a missing port, or a Service in another namespace', () => {
    const r = load(
      docs(
        base,
        service('other', undefined, 'elsewhere'),
        route('a', '{ parentRefs: [{ group: "", kind: Service, name: nope }] }'),
        route('b', '{ parentRefs: [{ group: "", kind: Service, name: web, port: 81 }] }'),
        route('c', '{ parentRefs: [{ group: "", kind: Service, name: other, namespace: elsewhere }] }'),
      ),
    );
    expect(r.ir!.httpRoutes.map((h) => h.attachments)).toEqual([[], [], []]);
    expect(r.ir!.httpRoutes.map((h) => h.status[0]!.conditions[0]!.reason)).toEqual(['NoMatchingParent', 'NoMatchingParent', 'NotAllowedByListeners']);
    expect(r.lines.filter((l) => l.includes('not accepted'))).toHaveLength(3);
  });

  it('intersects listener and route hostnames', () => {
    const r = load(
      docs(
        base,
        gateway('[{ name: a, port: 80, protocol: HTTP, hostname: "*.example.com" }, { name: b, port: 8080, protocol: HTTP }]'),
        route('r', '{ parentRefs: [{ name: gw }], hostnames: [foo.example.com, bar.test, "*.example.com"], rules: [{ backendRefs: [{ name: web, port: 80 }] }] }'),
      ),
    );
    expect(r.ir!.httpRoutes[0]!.attachments).toEqual([
      { kind: 'Gateway', gateway: 'default/gw', listener: 'a', port: 80, hostnames: ['foo.example.com', '*.example.com'] },
      { kind: 'Gateway', gateway: 'default/gw', listener: 'b', port: 8080, hostnames: ['foo.example.com', 'bar.test', '*.example.com'] },
    ]);
  });

  it('honours sectionName and port, and reports hostnames that do not intersect', () => {
    const listeners = '[{ name: a, port: 80, protocol: HTTP, hostname: a.test }, { name: b, port: 81, protocol: HTTP, hostname: b.test }]';
    const r = load(
      docs(
        base,
        gateway(listeners),
        route('by-section', '{ parentRefs: [{ name: gw, sectionName: b }] }'),
        route('by-port', '{ parentRefs: [{ name: gw, port: 80 }] }'),
        route('no-host', '{ parentRefs: [{ name: gw }], hostnames: [c.test] }'),
        route('no-section', '{ parentRefs: [{ name: gw, sectionName: zz }] }'),
      ),
    );
    const byName = Object.fromEntries(r.ir!.httpRoutes.map((h) => [h.name, h]));
    expect(byName['by-section']!.attachments.map((a) => a.kind === 'Gateway' && a.listener)).toEqual(['b']);
    expect(byName['by-port']!.attachments.map((a) => a.kind === 'Gateway' && a.listener)).toEqual(['a']);
    expect(byName['no-host']!.status[0]!.conditions[0]!.reason).toBe('NoMatchingListenerHostname');
    expect(byName['no-section']!.status[0]!.conditions[0]!.reason).toBe('NoMatchingParent');
  });

  it('applies allowedRoutes: Same by default, All, Selector on namespace labels, and kinds', () => {
    const ns = (name: string, labels = '{}') => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name}, labels: ${labels} }\n`;
    const listeners = `[
      { name: same, port: 1, protocol: HTTP },
      { name: all, port: 2, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } },
      { name: sel, port: 3, protocol: HTTP, allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { team: a } } } } },
      { name: grpc-only, port: 4, protocol: HTTP, allowedRoutes: { namespaces: { from: All }, kinds: [{ kind: GRPCRoute }] } }
    ]`;
    const r = load(docs(base, ns('infra'), ns('team-a', '{ team: a }'), ns('team-b'), gateway(listeners, 'infra'),
      route('r', '{ parentRefs: [{ name: gw, namespace: infra }] }', 'team-a'),
      route('r', '{ parentRefs: [{ name: gw, namespace: infra }] }', 'team-b'),
      route('r', '{ parentRefs: [{ name: gw }] }', 'infra'),
    ));
    const listenersOf = (ns: string) => r.ir!.httpRoutes.find((h) => h.namespace === ns)!.attachments.map((a) => a.kind === 'Gateway' && a.listener);
    expect(listenersOf('team-a')).toEqual(['all', 'sel']);
    expect(listenersOf('team-b')).toEqual(['all']);
    expect(listenersOf('infra')).toEqual(['same', 'all']);
  });
});

describe('backendRefs', () => {
  it('marks unresolvable backends invalid with the Gateway API reason and keeps their weight', () => {
    const r = load(
      docs(
        service('web'),
        slice('web', ['10.1.0.1']),
        route(
          'r',
          `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{ backendRefs: [
            { name: web, port: 80, weight: 3 },
            { name: missing, port: 80 },
            { name: web },
            { name: web, port: 81 },
            { name: web, port: 80, namespace: other },
            { group: example.com, kind: Bucket, name: b }
          ] }] }`,
        ),
      ),
    );
    const backends = r.ir!.httpRoutes[0]!.rules[0]!.backends;
    expect(backends[0]).toEqual({ kind: 'service', service: 'default/web', port: 80, weight: 3 });
    expect(backends.slice(1).map((b) => b.kind === 'invalid' && b.reason.split(':')[0])).toEqual([
      'BackendNotFound',
      'UnsupportedValue',
      'BackendNotFound',
      'RefNotPermitted',
      'InvalidKind',
    ]);
    expect(r.ir!.httpRoutes[0]!.status[0]!.conditions[1]).toMatchObject({ type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound' });
  });

  it('allows a backendRef to another namespace only with a ReferenceGrant there that names the route namespace and the Service', () => {
    const grant = (ns: string, from: string, name?: string) => `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g-${ns}-${from}-${name ?? 'all'}, namespace: ${ns} }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ${from} }]
  to: [{ group: "", kind: Service${name ? `, name: ${name}` : ''} }]
`;
    const backends = (...grants: string[]) =>
      load(
        docs(
          service('web'),
          service('api', undefined, 'shared'),
          service('db', undefined, 'shared'),
          ...grants,
          route('r', `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{ backendRefs: [{ name: api, namespace: shared, port: 80 }, { name: db, namespace: shared, port: 80 }] }] }`),
        ),
      ).ir!.httpRoutes[0]!.rules[0]!.backends.map((b) => (b.kind === 'service' ? b.service : b.reason.split(':')[0]));
    expect(backends()).toEqual(['RefNotPermitted', 'RefNotPermitted']);
    expect(backends(grant('shared', 'default'))).toEqual(['shared/api', 'shared/db']);
    expect(backends(grant('shared', 'default', 'api'))).toEqual(['shared/api', 'RefNotPermitted']);
    expect(backends(grant('shared', 'elsewhere'))).toEqual(['RefNotPermitted', 'RefNotPermitted']);
    expect(backends(grant('default', 'default'))).toEqual(['RefNotPermitted', 'RefNotPermitted']); // a grant must live in the target namespace
  });

  it('RequestMirror: resolves the mirror backend, turns percent or fraction into a share, and reports bad ones', () => {
    const mirror = (spec: string) =>
      load(
        docs(
          service('web'),
          service('copy'),
          route('r', `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{ filters: [{ type: RequestMirror, requestMirror: ${spec} }], backendRefs: [{ name: web, port: 80 }] }] }`),
        ),
      );
    const mirrors = (spec: string) => mirror(spec).ir?.httpRoutes[0]!.rules[0]!.filters.mirrors;
    expect(mirrors('{ backendRef: { name: copy, port: 80 } }')).toEqual([{ service: 'default/copy', port: 80, fraction: 1 }]);
    expect(mirrors('{ backendRef: { name: copy, port: 80 }, percent: 25 }')).toEqual([{ service: 'default/copy', port: 80, fraction: 0.25 }]);
    expect(mirrors('{ backendRef: { name: copy, port: 80 }, fraction: { numerator: 1, denominator: 3 } }')).toEqual([{ service: 'default/copy', port: 80, fraction: 1 / 3 }]);
    const missing = mirror('{ backendRef: { name: nope, port: 80 } }');
    expect(missing.ir!.httpRoutes[0]!.rules[0]!.filters.mirrors).toBeUndefined();
    expect(missing.lines.some((l) => /requestMirror\.backendRef: BackendNotFound: Service default\/nope is not in the config; requests are not mirrored there/.test(l))).toBe(true);
    expect(mirror('{ backendRef: { name: copy, port: 80 }, percent: 10, fraction: { numerator: 1 } }').lines.some((l) => l.endsWith('percent and fraction are mutually exclusive'))).toBe(true);
    expect(mirror('{ backendRef: { name: copy, port: 80 }, fraction: { numerator: 5, denominator: 4 } }').lines.some((l) => l.endsWith('must not exceed the denominator (4)'))).toBe(true);
  });

  it('defaults a rule without matches to PathPrefix /', () => {
    const r = load(docs(service('web'), slice('web', ['10.1.0.1']), route('r', '{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{}] }')));
    expect(r.ir!.httpRoutes[0]!.rules[0]!.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }]);
  });
});

describe('hostnames', () => {
  it.each([
    ['foo.example.com', '*.example.com', true],
    ['a.b.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['*.a.example.com', '*.example.com', true],
    ['*.example.com', '*.example.com', true],
    ['foo.example.org', '*.example.com', false],
    ['anything', '*', true],
  ])('%s within %s: %s', (name, pattern, expected) => expect(hostnameWithin(name, pattern)).toBe(expected));

  it('intersects listener and route hostnames as Gateway API describes', () => {
    expect(intersectHostnames(undefined, [])).toEqual(['*']);
    expect(intersectHostnames('a.test', [])).toEqual(['a.test']);
    expect(intersectHostnames('*.test', ['x.test', 'y.other'])).toEqual(['x.test']);
    expect(intersectHostnames('x.test', ['*.test'])).toEqual(['x.test']);
    expect(intersectHostnames('x.test', ['y.test'])).toBeUndefined();
  });
});
