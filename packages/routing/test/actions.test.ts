import { describe, expect, it } from 'vitest';
import { modifyHeaders, modifyPath, portProtocol, redirectLocation } from '../src/index.ts';
import { mergeHeaderModifiers, sequenceHeaderModifiers } from '../src/actions.ts';
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

describe('combining header modifiers as Envoy applies them', () => {
  const mod = (set: [string, string][] = [], add: [string, string][] = [], remove: string[] = []) => ({
    set: set.map(([name, value]) => ({ name, value })),
    add: add.map(([name, value]) => ({ name, value })),
    remove,
  });
  const request = ['x-a', 'orig', 'x-b', 'orig', 'x-c', 'orig'];
  it.each([
    // [first, second, one parser (merge: first's operations, then second's), two parsers in a row (sequence)]
    ['a set, then a set of the same name', mod([['x-a', '1']]), mod([['x-a', '2']]), ['x-b', 'orig', 'x-c', 'orig', 'x-a', '2'], ['x-b', 'orig', 'x-c', 'orig', 'x-a', '2']],
    ['an add, then a set of the same name', mod([], [['x-b', '1']]), mod([['x-b', '2']]), ['x-a', 'orig', 'x-c', 'orig', 'x-b', '2'], ['x-a', 'orig', 'x-c', 'orig', 'x-b', '2']],
    ['a set, then a removal of that name', mod([['x-c', '1']]), mod([], [], ['x-c']), ['x-a', 'orig', 'x-b', 'orig', 'x-c', '1'], ['x-a', 'orig', 'x-b', 'orig']],
    ['an add, then a removal of that name', mod([], [['x-d', '1']]), mod([], [], ['x-d']), ['x-a', 'orig', 'x-b', 'orig', 'x-c', 'orig', 'x-d', '1'], ['x-a', 'orig', 'x-b', 'orig', 'x-c', 'orig']],
  ])('%s', (_name, first, second, merged, sequenced) => {
    expect(modifyHeaders(request, mergeHeaderModifiers(first, second)!)).toEqual(merged);
    expect(modifyHeaders(request, sequenceHeaderModifiers(first, second)!)).toEqual(sequenced);
    // Sequencing is applying one after the other.
    expect(modifyHeaders(request, sequenceHeaderModifiers(first, second)!)).toEqual(modifyHeaders(modifyHeaders(request, first), second));
  });
});
