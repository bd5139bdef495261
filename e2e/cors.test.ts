import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, json, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let backend: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;
const seen: string[] = [];

beforeAll(async () => {
  const echo = await startBackend('api');
  backend = echo;
  echo.server.prependListener('request', (req) => seen.push(`${req.method} ${req.url}`));
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('api', [{ port: echo.port }]),
      serviceYaml('legacy', [{ port: echo.port }]),
      serviceYaml('open', [{ port: echo.port }]),
      meshRoute(
        'api',
        'api',
        `[{ filters: [{ type: CORS, cors: { allowOrigins: ["https://app.example.com", "https://*.example.org"], allowMethods: [GET, POST], allowHeaders: [x-token], exposeHeaders: [x-trace], maxAge: 600, allowCredentials: true } }],
            backendRefs: [{ name: api, port: 80 }] }]`,
      ),
      `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: legacy }
spec:
  hosts: [legacy]
  http:
  - match: [{ uri: { prefix: /forwarding } }]
    corsPolicy: { allowOrigins: [{ exact: "https://app.example.com" }], allowMethods: [GET] }
    route: [{ destination: { host: legacy } }]
  - corsPolicy: { allowOrigins: [{ exact: "https://app.example.com" }], allowMethods: [GET], unmatchedPreflights: IGNORE }
    route: [{ destination: { host: legacy } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: open }
spec:
  hosts: [open]
  http:
  - corsPolicy: { allowOrigins: [{ exact: "*" }], allowMethods: ["*"], allowHeaders: ["*"] }
    route: [{ destination: { host: open } }]
`,
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path);
});

afterAll(async () => {
  await wp?.stop();
  await backend?.close();
  dir?.remove();
});

const preflight = (host: string, origin: string, path: string) =>
  send(`${wp.base}${path}`, { method: 'OPTIONS', headers: { host, origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-token' } });

describe('CORS (HTTPRoute filter, VirtualService corsPolicy)', () => {
  it('answers an allowed preflight itself, with the allowed methods, headers and max age', async () => {
    const r = await preflight('api', 'https://app.example.com', '/pre-1');
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'x-token',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
    });
    expect(seen).not.toContain('OPTIONS /pre-1');
  });

  it('adds the allow-origin and expose headers to responses for an allowed origin, wildcards included', async () => {
    const r = await send(`${wp.base}/data`, { headers: { host: 'api', origin: 'https://shop.example.org' } });
    expect([json(r).backend, r.headers['access-control-allow-origin'], r.headers['access-control-expose-headers']]).toEqual(['api', 'https://shop.example.org', 'x-trace']);
  });

  it('adds nothing for an origin that is not allowed, and answers its preflight without allowing the origin (Gateway API, as Istio converts it)', async () => {
    const r = await send(`${wp.base}/data`, { headers: { host: 'api', origin: 'https://evil.example.net' } });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const p = await preflight('api', 'https://evil.example.net', '/pre-2');
    expect([p.status, p.body, p.headers['access-control-allow-origin'], p.headers['access-control-allow-methods']]).toEqual([200, '', undefined, 'GET,POST']);
    expect(seen).not.toContain('OPTIONS /pre-2');
  });

  it('VirtualService corsPolicy forwards an unmatched preflight to the backend by default', async () => {
    const p = await preflight('legacy', 'https://evil.example.net', '/forwarding/pre-5');
    expect([json(p).method, p.headers['access-control-allow-origin']]).toEqual(['OPTIONS', undefined]);
  });

  it('an origin "*" allows every origin, and methods and headers "*" echo what the preflight asks for (Envoy)', async () => {
    const p = await preflight('open', 'https://any.example.com', '/pre-6');
    expect([p.status, p.headers['access-control-allow-origin'], p.headers['access-control-allow-methods'], p.headers['access-control-allow-headers']]).toEqual([
      200,
      'https://any.example.com',
      'POST',
      'x-token',
    ]);
    expect(seen).not.toContain('OPTIONS /pre-6');
  });

  it('VirtualService unmatchedPreflights: IGNORE answers an unmatched preflight without CORS headers and without the backend', async () => {
    const p = await preflight('legacy', 'https://evil.example.net', '/pre-3');
    expect([p.status, p.body, p.headers['access-control-allow-origin']]).toEqual([200, '', undefined]);
    expect(seen).not.toContain('OPTIONS /pre-3');
    const ok = await preflight('legacy', 'https://app.example.com', '/pre-4');
    expect([ok.status, ok.headers['access-control-allow-origin'], ok.headers['access-control-allow-methods']]).toEqual([200, 'https://app.example.com', 'GET']);
  });
});
