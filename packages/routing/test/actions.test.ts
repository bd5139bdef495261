import { describe, expect, it } from 'vitest';
import { modifyHeaders, modifyPath, portProtocol, redirectLocation } from '../src/index.ts';
import { httpRoute, request, router, svc } from './helpers.ts';

describe('URLRewrite / RequestRedirect path modifiers', () => {
  it.each([
    // [path, type, value, matched prefix, expected] — after the Gateway API conformance cases
    ['/prefix/one/two', 'ReplacePrefixMatch', '/one', '/prefix/one', '/one/two'],
    ['/strip-prefix/three', 'ReplacePrefixMatch', '/', '/strip-prefix', '/three'],
    ['/strip-prefix', 'ReplacePrefixMatch', '/', '/strip-prefix', '/'],
    ['/prefix/one/', 'ReplacePrefixMatch', '/one', '/prefix/one/', '/one/'],
    ['/a', 'ReplacePrefixMatch', '/new', '/', '/new/a'],
    ['/anything/here', 'ReplaceFullPath', '/full', '/anything', '/full'],
  ] as const)('%s with %s %s (matched %s) → %s', (path, type, value, prefix, expected) => {
    expect(modifyPath(path, { type, value }, prefix)).toBe(expected);
  });
});

describe('RequestRedirect Location', () => {
  // As Envoy builds it (RouteEntryImplBase::newPath): a port named by the redirect follows the host as
  // written; the request's own Host port stays unless the redirect names a port or leaves the scheme
  // whose default port it is.
  const req = { scheme: 'http' as const, hostName: 'example.com', port: 8080 as number | undefined, path: '/a/b', query: 'x=1' };
  it.each([
    [{ statusCode: 302 as const }, req, 'http://example.com:8080/a/b?x=1'],
    [{ statusCode: 301 as const, scheme: 'https' as const }, req, 'https://example.com:8080/a/b?x=1'],
    [{ statusCode: 301 as const, scheme: 'https' as const }, { ...req, port: 80 }, 'https://example.com/a/b?x=1'],
    [{ statusCode: 301 as const, scheme: 'https' as const }, { ...req, port: undefined }, 'https://example.com/a/b?x=1'],
    [{ statusCode: 302 as const, scheme: 'https' as const, port: 8443 }, req, 'https://example.com:8443/a/b?x=1'],
    [{ statusCode: 302 as const, hostname: 'other.test' }, req, 'http://other.test/a/b?x=1'],
    [{ statusCode: 302 as const, hostname: 'other.test', port: 9080 }, req, 'http://other.test:9080/a/b?x=1'],
    [{ statusCode: 302 as const, port: 80 }, req, 'http://example.com:80/a/b?x=1'],
    [{ statusCode: 302 as const, path: { type: 'ReplaceFullPath' as const, value: '/moved' } }, req, 'http://example.com:8080/moved?x=1'],
  ])('%o for %o → %s', (r, request, expected) => expect(redirectLocation(r, request, '/a')).toBe(expected));
});

describe('header modifiers', () => {
  it('removes, replaces, then appends, matching names case-insensitively', () => {
    const out = modifyHeaders(['Host', 'h', 'X-Env', 'dev', 'X-Drop', '1', 'x-multi', 'a'], { set: [{ name: 'x-env', value: 'prod' }], add: [{ name: 'x-multi', value: 'b' }], remove: ['x-drop'] });
    expect(out).toEqual(['Host', 'h', 'x-multi', 'a', 'x-env', 'prod', 'x-multi', 'b']);
  });
});

describe('filters in route decisions', () => {
  const services = [svc('web', ['10.0.1.1'], 'default', '10.96.0.10'), svc('a', ['10.0.2.1'], 'default', '10.96.0.11')];
  it('answers a RequestRedirect rule itself, ignoring its backends', () => {
    const r = router(...services, httpRoute('r', `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{ filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301 } }], backendRefs: [{ name: a, port: 80 }] }] }`));
    expect(r.routePlain(80, 'web', request('/x'))).toMatchObject({ kind: 'redirect', redirect: { scheme: 'https', statusCode: 301 } });
  });

  it('carries header modifiers and rewrites with the matched prefix on forwarded decisions', () => {
    const r = router(
      ...services,
      httpRoute(
        'r',
        `{ parentRefs: [{ group: "", kind: Service, name: web }], rules: [{ matches: [{ path: { type: PathPrefix, value: /api } }],
          filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: X-A, value: "1" }] } }, { type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } } }],
          backendRefs: [{ name: a, port: 80 }] }] }`,
      ),
    );
    const d = r.routePlain(80, 'web', request('/api/x'));
    expect(d).toMatchObject({ kind: 'forward', actions: { requestHeaders: { set: [{ name: 'x-a', value: '1' }] }, rewrite: { path: { type: 'ReplacePrefixMatch', value: '/v2' } }, matchedPrefix: '/api' } });
  });
});

describe('port protocols', () => {
  it.each([
    ['kubernetes.io/h2c', 'http2'],
    ['grpc', 'http2'],
    ['grpc-web', 'http2'],
    ['http2-api', 'http2'],
    ['HTTP', 'http'],
    ['http-web', 'http'],
    ['tcp-db', 'tcp'],
    ['mysql', 'tcp'],
    ['https', 'tcp'],
    ['web', undefined],
    [undefined, undefined],
  ])('%s → %s', (p, expected) => expect(portProtocol(p)).toBe(expected));
});
