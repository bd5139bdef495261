import { describe, expect, it } from 'vitest';
import { docs, load, service } from './helpers.ts';

const vs = (spec: string, name = 'v') => `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: ${name} }
spec: ${spec}
`;
const dr = (spec: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: d }
spec: ${spec}
`;

describe('VirtualService validation', () => {
  it.each([
    ['route and redirect together', '{ hosts: [web], http: [{ route: [{ destination: { host: web } }], redirect: { uri: /x } }] }', /http\[0\]: has route and redirect: a route has exactly one of route, redirect, directResponse/],
    ['no action', '{ hosts: [web], http: [{ match: [{ uri: { prefix: / } }] }] }', /http\[0\]: needs one of route, redirect, directResponse/],
    ['a StringMatch with two kinds', '{ hosts: [web], http: [{ match: [{ uri: { exact: /a, prefix: /b } }], route: [{ destination: { host: web } }] }] }', /uri: must NOT have more than 1 properties/],
    ['a regex RE2 refuses', '{ hosts: [web], http: [{ match: [{ uri: { regex: "(a)\\\\1" } }], route: [{ destination: { host: web } }] }] }', /match\[0\]\.uri: regular expression .* backreference/],
    ['a prefix query match', '{ hosts: [web], http: [{ match: [{ queryParams: { q: { prefix: a } } }], route: [{ destination: { host: web } }] }] }', /queryParams\.q: query parameters match exact or regex only/],
    ['an unknown field', '{ hosts: [web], http: [{ route: [{ destination: { host: web } }], retires: {} }] }', /http\[0\]\.retires: unknown field/],
    ['a bad duration', '{ hosts: [web], http: [{ route: [{ destination: { host: web } }], timeout: soon }] }', /http\[0\]\.timeout: "soon" is not valid here/],
    ['a delegating route with an action', '{ hosts: [web], http: [{ delegate: { name: d }, route: [{ destination: { host: web } }] }] }', /http\[0\]\.route: a route that delegates may only have match and delegate \(found route\)/],
    ['an unknown gRPC status', '{ hosts: [web], http: [{ route: [{ destination: { host: web } }], fault: { abort: { grpcStatus: BROKEN } } }] }', /grpcStatus: not a gRPC status name: "BROKEN"/],
  ])('rejects %s', (_name, spec, pattern) => {
    const r = load(docs(service('web'), vs(spec)));
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => pattern.test(l)), r.lines.join('\n')).toBe(true);
  });

  it('warns about what it does not apply, and loads', () => {
    const r = load(
      docs(
        service('web'),
        vs('{ hosts: [web, nowhere.other.svc.cluster.local], gateways: [mesh], http: [{ delegate: { name: other } }, { route: [{ destination: { host: missing } }] }], tcp: [{}] }'),
        vs('{ hosts: [web], gateways: [istio-system/ingress], http: [{ route: [{ destination: { host: web } }] }] }', 'ingress-only'),
      ),
    );
    expect(r.ir).toBeDefined();
    const warnings = r.lines.filter((l) => l.includes('warning')).map((l) => l.replace(/^config\.yaml:\d+:\d+ warning: /, ''));
    expect(warnings).toEqual(
      expect.arrayContaining([
        'VirtualService/default/v spec.http[0].delegate: no VirtualService default/other without hosts to delegate to; the route is left out',
        'VirtualService/default/v spec.http[1].route[0].destination: host "missing" names no Service in the config; requests for it get 503 (cluster not found)',
        'VirtualService/default/v spec.tcp: TCP routes are not supported by this waypoint; ignored',
        'VirtualService/default/v spec.hosts[1]: "nowhere.other.svc.cluster.local" names no Service in the config; it has no effect',
        'VirtualService/default/ingress-only spec.gateways: binds to gateways only (no "mesh"), so it does not apply to the waypoint; ignored',
      ]),
    );
    expect(r.ir!.virtualServices.map((v) => [v.key, v.services, v.routes.length])).toEqual([['default/v', ['default/web'], 1]]);
  });

  it('injects a fault without a percentage into no request, as Istio does, and warns', () => {
    const r = load(
      docs(
        service('web'),
        vs('{ hosts: [web], http: [{ route: [{ destination: { host: web } }], fault: { abort: { httpStatus: 503 }, delay: { fixedDelay: 1s } } }, { route: [{ destination: { host: web } }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } }, delay: { fixedDelay: 1s, percent: 50 } } }] }'),
      ),
    );
    expect(r.ir!.virtualServices[0]!.routes.map((rt) => [rt.fault?.abort?.fraction, rt.fault?.delay?.fraction])).toEqual([
      [0, 0],
      [1, 0.5],
    ]);
    const warnings = r.lines.filter((l) => l.includes('has no percentage')).map((l) => l.replace(/^config\.yaml:\d+:\d+ warning: /, ''));
    expect(warnings).toEqual([
      'VirtualService/default/v spec.http[0].fault.delay: has no percentage, so Istio delays no request (unset means 0%); give percentage: { value: 100 } for every request',
      'VirtualService/default/v spec.http[0].fault.abort: has no percentage, so Istio aborts no request (unset means 0%); give percentage: { value: 100 } for every request',
    ]);
  });

  it('turns retries off when attempts are not given, as Istio does, and warns when other retry settings would be lost', () => {
    const r = load(
      docs(
        service('web'),
        vs('{ hosts: [web], http: [{ route: [{ destination: { host: web } }], retries: { perTryTimeout: 2s, retryOn: 5xx } }, { route: [{ destination: { host: web } }], retries: { attempts: 0 } }, { route: [{ destination: { host: web } }], retries: { attempts: 3, perTryTimeout: 2s } }] }'),
      ),
    );
    expect(r.ir!.virtualServices[0]!.routes.map((rt) => [rt.retry?.numRetries, rt.retry?.perTryTimeoutMs, rt.retry?.retryOn.join(',')])).toEqual([
      [0, undefined, ''],
      [0, undefined, ''],
      [3, 2000, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes'],
    ]);
    expect(r.lines.filter((l) => l.includes('retries')).map((l) => l.replace(/^config\.yaml:\d+:\d+ warning: /, ''))).toEqual([
      'VirtualService/default/v spec.http[0].retries: has no attempts, so Istio does not retry this route and its other retry settings have no effect; give attempts',
    ]);
  });

  it('resolves hosts and destinations as Istio does: short names in the VirtualService namespace, name.namespace, FQDN', () => {
    const r = load(
      docs(
        service('web'),
        service('api', undefined, 'team'),
        vs('{ hosts: [web.default.svc.cluster.local], http: [{ route: [{ destination: { host: api.team }, weight: 60 }, { destination: { host: web }, weight: 40 }] }] }'),
      ),
    );
    const route = r.ir!.virtualServices[0]!.routes[0]!;
    expect(route.action.kind === 'route' && route.action.destinations.map((d) => d.kind === 'service' && [d.service, d.weight])).toEqual([
      ['team/api', 60],
      ['default/web', 40],
    ]);
  });
});

describe('DestinationRule validation', () => {
  it.each([
    ['two hash keys', '{ host: web, trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: a, useSourceIp: true } } } }', /consistentHash: needs exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName/],
    ['simple with consistentHash', '{ host: web, trafficPolicy: { loadBalancer: { simple: RANDOM, consistentHash: { useSourceIp: true } } } }', /loadBalancer: simple and consistentHash exclude each other/],
    ['a duplicate subset', '{ host: web, subsets: [{ name: a }, { name: a }] }', /subsets\[1\]\.name: duplicate subset name "a"/],
    ['an unknown load balancer', '{ host: web, trafficPolicy: { loadBalancer: { simple: FASTEST } } }', /simple: must be one of/],
    ['a bad connectionPool field', '{ host: web, trafficPolicy: { connectionPool: { tcp: { maxConnection: 1 } } } }', /connectionPool\.tcp\.maxConnection: unknown field/],
  ])('rejects %s', (_name, spec, pattern) => {
    const r = load(docs(service('web'), dr(spec)));
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => pattern.test(l)), r.lines.join('\n')).toBe(true);
  });

  it('keeps subsets, policies per port and subset, and the resilience settings as written', () => {
    const r = load(
      docs(
        service('web'),
        dr(`{ host: web, trafficPolicy: { loadBalancer: { simple: LEAST_CONN }, connectionPool: { http: { http1MaxPendingRequests: 10 } }, outlierDetection: { consecutive5xxErrors: 3, interval: 5s },
               portLevelSettings: [{ port: { number: 80 }, loadBalancer: { consistentHash: { httpCookie: { name: user, ttl: 1h } } } }] },
             subsets: [{ name: v1, labels: { version: v1 }, trafficPolicy: { loadBalancer: { consistentHash: { maglev: { tableSize: 251 }, useSourceIp: true } } } }] }`),
      ),
    );
    expect(r.lines.filter((l) => !l.includes('EndpointSlice'))).toEqual([]);
    expect(r.ir!.destinationRules).toEqual([
      {
        key: 'default/d',
        service: 'default/web',
        policy: {
          loadBalancer: { simple: 'LEAST_REQUEST' },
          connectionPool: { http: { http1MaxPendingRequests: 10 } },
          outlierDetection: { consecutive5xxErrors: 3, interval: '5s' },
          ports: [{ port: 80, policy: { loadBalancer: { consistentHash: { key: { kind: 'cookie', name: 'user', ttlSeconds: 3600 }, algorithm: { kind: 'ring', minimumRingSize: 1024 } } } } }],
        },
        subsets: [{ name: 'v1', labels: { version: 'v1' }, policy: { loadBalancer: { consistentHash: { key: { kind: 'sourceIp' }, algorithm: { kind: 'maglev', tableSize: 251 } } }, ports: [] } }],
      },
    ]);
  });
});
