import { describe, expect, it } from 'vitest';
import { docs, load, service, slice } from './helpers.ts';

describe('schema validation', () => {
  it('names the field path and the reason for wrong types, unknown fields and missing fields', () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  prots: []
  ports:
    - name: http
      port: 70000
      targetPort: [1]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: team }
spec:
  rules:
    - matches:
        - path: { type: Prefix, value: /x }
      backendRefs:
        - port: 80
`);
    expect(r.ir).toBeUndefined();
    expect(r.lines).toEqual([
      'config.yaml:5:3 Service/default/web spec.prots: unknown field',
      'config.yaml:8:7 Service/default/web spec.ports[0].port: must be <= 65535',
      'config.yaml:9:7 Service/default/web spec.ports[0].targetPort: must be a port number (1-65535) or a port name',
      'config.yaml:17:19 HTTPRoute/team/r spec.rules[0].matches[0].path.type: must be one of "Exact", "PathPrefix", "RegularExpression"',
      'config.yaml:19:11 HTTPRoute/team/r spec.rules[0].backendRefs[0].name: required field is missing',
    ]);
  });

  it('warns about fields that exist in the API but are not supported yet, and still loads', () => {
    const r = load(docs(service('web'), slice('web', ['10.1.0.1']), `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  parentRefs: [{ group: "", kind: Service, name: web }]
  rules:
    - backendRefs: [{ name: web, port: 80 }]
      sessionPersistence: { type: Cookie }
`));
    expect(r.ir).toBeDefined();
    expect(r.lines).toEqual(['config.yaml:27:7 warning: HTTPRoute/default/r spec.rules[0].sessionPersistence: sessionPersistence is not implemented (Istio does not implement it either); ignored']);
  });

  it('rejects a regular expression that does not compile, at its field', () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  rules:
    - matches:
        - path: { type: RegularExpression, value: "/api/(v1" }
        - headers: [{ type: RegularExpression, name: x-id, value: "[a-" }]
`);
    expect(r.ir).toBeUndefined();
    expect(r.lines.filter((l) => !l.includes('warning'))).toEqual([
      expect.stringMatching(/^config\.yaml:7:44 HTTPRoute\/default\/r spec\.rules\[0\]\.matches\[0\]\.path\.value: invalid regular expression "\/api\/\(v1": /),
      expect.stringMatching(/^config\.yaml:8:60 HTTPRoute\/default\/r spec\.rules\[0\]\.matches\[1\]\.headers\[0\]\.value: invalid regular expression "\[a-": /),
    ]);
  });

  it('rejects path values Gateway API forbids', () => {
    const bad = ['x', '/a//b', '/a/../b', '/a?b'];
    for (const value of bad) {
      const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  rules: [{ matches: [{ path: { type: Exact, value: "${value}" } }] }]
`);
      expect(r.ir, value).toBeUndefined();
      expect(r.lines.some((l) => l.includes('spec.rules[0].matches[0].path.value:')), value).toBe(true);
    }
  });

  it('rejects duplicate header names in one match', () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  rules: [{ matches: [{ headers: [{ name: X-A, value: "1" }, { name: x-a, value: "2" }] }] }]
`);
    expect(r.lines.some((l) => l.includes('headers[1].name: duplicate header name "x-a"'))).toBe(true);
  });

  it('rejects a duplicate resource and says where the first one is', () => {
    const r = load(docs(service('web'), service('web')));
    expect(r.ir).toBeUndefined();
    expect(r.lines).toContain('config.yaml:11:1 Service/default/web: duplicate resource: already defined at config.yaml:2:1');
  });

  it('treats the same name in two namespaces as two resources', () => {
    expect(load(docs(service('web', undefined, 'a'), service('web', undefined, 'b'))).lines.filter((l) => l.includes('duplicate'))).toEqual([]);
  });

  it('keeps keys named like Object.prototype members as plain fields, in both YAML parsers', () => {
    const pod = () => `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: { __proto__: evil, constructor: c, toString: t, app: web }
spec: {}
status: { podIP: 10.1.0.9 }
`;
    // The second document has an anchor, so the positional parser reads this file.
    for (const text of [pod(), docs(pod(), 'apiVersion: v1\nkind: Namespace\nmetadata: &m { name: other }\n')]) {
      const r = load(text);
      expect(r.lines).toEqual([]);
      const labels = r.ir!.pods[0]!.labels;
      expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
      expect(Object.entries(labels)).toEqual([
        ['__proto__', 'evil'],
        ['constructor', 'c'],
        ['toString', 't'],
        ['app', 'web'],
      ]);
      expect(({} as Record<string, unknown>).evil).toBeUndefined();
    }
  });

  it('rejects an unsupported apiVersion of a known kind with a notice', () => {
    const r = load('apiVersion: gateway.networking.k8s.io/v1alpha9\nkind: HTTPRoute\nmetadata: { name: r }\nspec: {}\n');
    expect(r.lines).toEqual([expect.stringMatching(/^config\.yaml:1:1 notice: apiVersion: HTTPRoute apiVersion gateway\.networking\.k8s\.io\/v1alpha9 is not supported/)]);
  });
});

describe('cross-resource consistency', () => {
  it('warns about a Service with no EndpointSlice', () => {
    const r = load(service('lonely'));
    expect(r.ir).toBeDefined();
    expect(r.lines).toEqual([
      'config.yaml:2:1 warning: Service/default/lonely: no EndpointSlice names this Service (label kubernetes.io/service-name); requests to it get 503 no healthy upstream',
    ]);
  });

  it('warns about an EndpointSlice for an unknown Service and ignores it', () => {
    const r = load(slice('ghost', ['10.0.0.1']));
    expect(r.ir).toBeDefined();
    expect(r.lines).toEqual([
      'config.yaml:4:58 warning: EndpointSlice/default/ghost-x metadata.labels["kubernetes.io/service-name"]: names Service default/ghost, which is not in the config; ignored',
    ]);
  });

  it('warns when no EndpointSlice port matches a Service port by name', () => {
    const r = load(docs(service('web'), slice('web', ['10.0.0.1'], 8080, 'grpc')));
    expect(r.lines.some((l) => l.includes('spec.ports[0]: no EndpointSlice of this Service has a port named "http"'))).toBe(true);
    expect(r.ir!.services[0]!.ports[0]!.endpoints).toEqual([]);
  });
});

describe('HTTPRoute filters', () => {
  const rule = (filters: string, matches = '') => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  rules:
    - ${matches ? `matches: ${matches}\n      ` : ''}filters: ${filters}
`;
  it('translates header modifiers, redirects and rewrites', () => {
    const r = load(rule('[{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: X-Env, value: prod }], add: [{ name: x-a, value: "1" }], remove: [X-Drop] } }, { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-b, value: "2" }] } }, { type: URLRewrite, urlRewrite: { hostname: new.example, path: { type: ReplaceFullPath, replaceFullPath: /x } } }]'));
    expect(r.lines.filter((l) => !l.includes('warning'))).toEqual([]);
    expect(r.ir!.httpRoutes[0]!.rules[0]!.filters).toEqual({
      requestHeaders: { set: [{ name: 'x-env', value: 'prod' }], add: [{ name: 'x-a', value: '1' }], remove: ['x-drop'] },
      responseHeaders: { set: [], add: [{ name: 'x-b', value: '2' }], remove: [] },
      rewrite: { hostname: 'new.example', path: { type: 'ReplaceFullPath', value: '/x' } },
    });
  });

  it.each([
    ['a filter without its configuration', '[{ type: RequestRedirect }]', '', /filters\[0\]\.requestRedirect: required for a RequestRedirect filter/],
    ['configuration for another type', '[{ type: URLRewrite, urlRewrite: {}, requestRedirect: {} }]', '', /filters\[0\]\.requestRedirect: must not be set on a URLRewrite filter/],
    ['a repeated filter type', '[{ type: URLRewrite, urlRewrite: {} }, { type: URLRewrite, urlRewrite: {} }]', '', /filters\[1\]\.type: URLRewrite may appear only once per rule/],
    ['a redirect and a rewrite together', '[{ type: URLRewrite, urlRewrite: {} }, { type: RequestRedirect, requestRedirect: {} }]', '', /filters: a rule may have a RequestRedirect or a URLRewrite filter, not both/],
    ['ReplacePrefixMatch with an Exact match', '[{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /x } } }]', '[{ path: { type: Exact, value: /a } }]', /ReplacePrefixMatch needs every match of the rule to be a PathPrefix match/],
    ['ReplaceFullPath without its value', '[{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath } } }]', '', /path\.replaceFullPath: required when type is ReplaceFullPath/],
    ['a duplicate header name', '[{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: a, value: "1" }, { name: A, value: "2" }] } }]', '', /set\[1\]\.name: duplicate header name "A"/],
    ['an unsupported redirect status', '[{ type: RequestRedirect, requestRedirect: { statusCode: 300 } }]', '', /statusCode: must be one of 301, 302, 303, 307, 308/],
  ])('rejects %s', (_name, filters, matches, pattern) => {
    const r = load(rule(filters, matches));
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => pattern.test(l)), r.lines.join('\n')).toBe(true);
  });

  it('warns that a mirror to an unknown Service is dropped, and still loads', () => {
    const r = load(rule('[{ type: RequestMirror, requestMirror: { backendRef: { name: x, port: 80 } } }]'));
    expect(r.ir).toBeDefined();
    expect(r.lines.filter((l) => l.includes('filters['))).toEqual([
      expect.stringMatching(/filters\[0\]\.requestMirror\.backendRef: BackendNotFound: Service default\/x is not in the config; requests are not mirrored there$/),
    ]);
  });
});

describe('filters Istio cannot convert (InvalidFilter)', () => {
  const route = (kind: 'HTTPRoute' | 'GRPCRoute', rules: string) => docs(
    service('web'),
    slice('web', ['10.1.0.1']),
    `apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: r }
spec:
  parentRefs: [{ group: "", kind: Service, name: web }]
  rules: ${rules}
`,
  );
  const outcome = (r: ReturnType<typeof load>) => {
    const rt = r.ir!.httpRoutes[0]!;
    return { attachments: rt.attachments.length, conditions: rt.status[0]!.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`) };
  };

  it.each([
    ['an ExtensionRef rule filter', 'HTTPRoute', '[{ filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: Auth, name: f } }], backendRefs: [{ name: web, port: 80 }] }]', 'rules[0].filters[0].type', 'ExtensionRef'],
    ['a RequestMirror on a backendRef', 'HTTPRoute', '[{ backendRefs: [{ name: web, port: 80, filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: web, port: 80 } } }] }] }]', 'rules[0].backendRefs[0].filters[0].type', 'RequestMirror'],
    ['a URLRewrite on a backendRef of a second rule', 'HTTPRoute', '[{ backendRefs: [{ name: web, port: 80 }] }, { backendRefs: [{ name: web, port: 80, filters: [{ type: URLRewrite, urlRewrite: {} }] }] }]', 'rules[1].backendRefs[0].filters[0].type', 'URLRewrite'],
    ['an ExtensionRef GRPCRoute filter', 'GRPCRoute', '[{ filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: Auth, name: f } }], backendRefs: [{ name: web, port: 80 }] }]', 'rules[0].filters[0].type', 'ExtensionRef'],
  ] as const)('refuse the whole route for %s: not programmed, Accepted, ResolvedRefs False', (_name, kind, rules, at, type) => {
    const r = load(route(kind, rules));
    expect(r.ir).toBeDefined();
    expect(r.lines.filter((l) => l.includes('unsupported filter'))).toEqual([
      expect.stringContaining(`warning: ${kind}/default/r spec.${at}: unsupported filter type "${type}": the whole ${kind} is not programmed (as in Istio: ResolvedRefs False, InvalidFilter)`),
    ]);
    expect(outcome(r)).toEqual({ attachments: 0, conditions: ['Accepted=True Accepted: route accepted', `ResolvedRefs=False InvalidFilter: unsupported filter type "${type}"`] });
  });

  it('look past a backendRef of weight 0, as Istio drops it before reading its filters', () => {
    const r = load(route('HTTPRoute', '[{ backendRefs: [{ name: web, port: 80 }, { name: web, port: 80, weight: 0, filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: web, port: 80 } } }] }] }]'));
    expect(r.lines.filter((l) => l.includes('unsupported filter'))).toEqual([]);
    expect(outcome(r).attachments).toBe(1);
  });

  it('check an ExtensionRef reference has group, kind and name', () => {
    const r = load(route('HTTPRoute', '[{ filters: [{ type: ExtensionRef, extensionRef: { kind: Auth } }] }]'));
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => /filters\[0\]\.extensionRef\.name: required field is missing/.test(l)), r.lines.join('\n')).toBe(true);
  });
});

describe('HTTPRoute timeouts', () => {
  const route = (timeouts: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  rules: [{ timeouts: ${timeouts} }]
`;
  it.each([
    ['{ request: 10s }', 10_000],
    ['{ request: 1m30s }', 90_000],
    ['{ request: 10s, backendRequest: 500ms }', 500],
    ['{ request: 0s }', undefined],
    ['{ request: 1h, backendRequest: 0s }', 3_600_000],
  ])('%s → %s ms', (timeouts, expected) => {
    const r = load(route(timeouts));
    expect(r.lines.filter((l) => !l.includes('warning'))).toEqual([]);
    expect(r.ir!.httpRoutes[0]!.rules[0]!.timeoutMs).toBe(expected);
  });

  it('rejects a malformed duration and a backendRequest longer than request', () => {
    expect(load(route('{ request: 10x }')).lines.some((l) => l.includes('spec.rules[0].timeouts.request: "10x" is not valid here'))).toBe(true);
    expect(load(route('{ request: 1s, backendRequest: 2s }')).lines.some((l) => l.includes('timeouts.backendRequest: must not be longer than timeouts.request (1s)'))).toBe(true);
  });
});
