/**
 * HTTP/2 with prior knowledge (h2c) on the plain listener, through the process: Envoy's connection manager
 * with its codec on AUTO (Istio's setting) takes it beside HTTP/1.1 on the same port. Clients: Node's
 * HTTP/2 (nghttp2) and Python's h2, an independent stack.
 */
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect as h2connect, createServer as createH2cServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, PYTHON, ROOT, accessLogFor, json, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let dir: ConfigDir;
let wp: WaypointProcess;
let echo: Backend;
let slow: Backend;
let grpc: Http2Server;
let releaseSlow: () => void = () => undefined;
let slowReached: Promise<void>;
let reachedSlow: () => void = () => undefined;

beforeAll(async () => {
  echo = await startBackend('echo');
  slowReached = new Promise((r) => (reachedSlow = r));
  slow = await startBackend('slow', (req, res) => {
    releaseSlow = () => res.end('slow done');
    req.resume();
    reachedSlow();
  });
  grpc = createH2cServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'x-path': req.url });
      res.addTrailers({ 'grpc-status': '0' });
      res.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  grpc.on('sessionError', () => undefined);
  await new Promise<void>((r) => grpc.listen(0, '127.0.0.1', r));
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('echo', [{ port: echo.port }]),
      serviceYaml('slow', [{ port: slow.port }]),
      serviceYaml('greeter', [{ port: (grpc.address() as AddressInfo).port }], undefined, 'grpc'),
      meshRoute(
        'echo',
        'echo',
        `
  - matches: [{ path: { type: PathPrefix, value: /v2 } }]
    filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: v2 }] } }]
    backendRefs: [{ name: echo, port: 80 }]`,
      ),
      `---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: greeter }
spec:
  parentRefs: [{ group: "", kind: Service, name: greeter }]
  rules:
  - matches: [{ method: { service: helloworld.Greeter } }]
    backendRefs: [{ name: greeter, port: 80 }]
`,
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
});

afterAll(async () => {
  await wp?.stop();
  await echo?.close();
  await slow?.close();
  grpc?.close();
  dir?.remove();
});

function session(): ClientHttp2Session {
  const s = h2connect(`http://127.0.0.1:${wp.httpPort}`);
  s.on('error', () => undefined);
  return s;
}

async function get(s: ClientHttp2Session, authority: string, path: string, headers: Record<string, string> = {}): Promise<{ headers: IncomingHttpHeaders; body: string }> {
  const req = s.request({ ':authority': authority, ':path': path, ...headers });
  req.setEncoding('utf8');
  let body = '';
  req.on('data', (d: string) => (body += d));
  const [head] = (await once(req, 'response')) as [IncomingHttpHeaders];
  await once(req, 'end');
  return { headers: head, body };
}

describe('HTTP/2 with prior knowledge on the plain listener', () => {
  it('routes each stream by :authority, with the route filters, several streams on one connection', async () => {
    const s = session();
    try {
      const [a, b, c] = await Promise.all([get(s, 'echo.default', '/v2/x'), get(s, 'echo', '/v2/y'), get(s, 'echo.default.svc.cluster.local', '/other')]);
      expect(a.headers[':status']).toBe(200);
      expect(JSON.parse(a.body)).toMatchObject({ backend: 'echo', url: '/v2/x', headers: { 'x-route': 'v2' } });
      expect(JSON.parse(b.body)).toMatchObject({ url: '/v2/y', headers: { 'x-route': 'v2' } });
      // The route takes only /v2: any other path of a routed Service is 404, as for HTTP/1.1.
      expect(c.headers[':status']).toBe(404);
      // The backend speaks HTTP/1.1: the request reached it with a Host, and the answer came back as HTTP/2.
      expect(JSON.parse(a.body).headers.host).toBe('echo.default');
      expect(a.headers.server).toBe('istio-envoy');
      expect(a.headers['x-envoy-upstream-service-time']).toBeDefined();
    } finally {
      s.close();
    }
    const log = await accessLogFor(wp, '/v2/x');
    expect(log).toMatchObject({ protocol: 'HTTP/2', response_code: 200 });
  });

  it('answers a stream no route takes with 404 NR, and the connection goes on', async () => {
    const s = session();
    try {
      expect((await get(s, 'nowhere.test', '/')).headers[':status']).toBe(404);
      expect((await get(s, 'echo', '/v2/after')).headers[':status']).toBe(200);
    } finally {
      s.close();
    }
  });

  it("refuses CONNECT with Envoy's 403 (upgrade_failed), and the connection goes on", async () => {
    const s = session();
    try {
      const req = s.request({ ':method': 'CONNECT', ':authority': 'echo.default:80' }, { endStream: false });
      const [headers] = (await once(req, 'response')) as [IncomingHttpHeaders];
      expect(headers[':status']).toBe(403);
      expect(headers.server).toBe('istio-envoy');
      req.close();
      expect((await get(s, 'echo', '/v2/after-connect')).headers[':status']).toBe(200);
    } finally {
      s.close();
    }
    const log = JSON.parse(wp.stdout.split('\n').find((l) => l.includes('"method":"CONNECT"'))!);
    expect(log).toMatchObject({ response_code: 403, response_code_details: 'upgrade_failed', protocol: 'HTTP/2' });
  });

  it('carries gRPC to an h2c backend by GRPCRoute, trailers included, and answers an unknown method with grpc-status 12', async () => {
    const s = session();
    try {
      const call = async (path: string) => {
        const req = s.request({ ':method': 'POST', ':authority': 'greeter.default', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
        req.end(Buffer.from([0, 0, 0, 0, 0]));
        let trailers: IncomingHttpHeaders = {};
        req.on('trailers', (t) => (trailers = t));
        const [headers] = (await once(req, 'response')) as [IncomingHttpHeaders];
        req.resume();
        if (!req.closed) await once(req, 'close');
        return { headers, trailers };
      };
      const ok = await call('/helloworld.Greeter/SayHello');
      expect([ok.headers[':status'], ok.headers['x-path'], ok.trailers['grpc-status']]).toEqual([200, '/helloworld.Greeter/SayHello', '0']);
      const unknown = await call('/other.Service/Method');
      expect(unknown.headers['grpc-status']).toBe('12');
    } finally {
      s.close();
    }
  });

  /** Runs the Python h2 client on the plain listener; its replies, one per path. */
  async function python(args: string[]): Promise<{ path: string; status: number | null; body: string; reset: number | null }[]> {
    const child = spawn(PYTHON, [join(ROOT, 'e2e', 'interop', 'h2c_client.py'), '--connect', `127.0.0.1:${wp.httpPort}`, '--authority', 'echo.default', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    expect(err).toBe('');
    expect(code).toBe(0);
    return JSON.parse(out);
  }

  it('resets a stream whose headers are over 60 KiB (Envoy resets it with INTERNAL_ERROR), and the connection goes on', async () => {
    // Python's h2 sends what Node's client would refuse to: one 70,000-byte header, compressed below the advertised limit.
    const [big, after] = await python(['--big-header', '70000', '/v2/big', '/v2/after-big']);
    expect([big!.status, big!.reset]).toEqual([null, 2]);
    expect([after!.status, JSON.parse(after!.body).url]).toEqual([200, '/v2/after-big']);
  });

  it("does not offer extended CONNECT (WebSocket over HTTP/2), as Istio's per-Service connection manager does not", async () => {
    const s = session();
    try {
      await once(s, 'remoteSettings');
      // Istio sets no allow_connect there, so Envoy never sends SETTINGS_ENABLE_CONNECT_PROTOCOL.
      expect(s.remoteSettings.enableConnectProtocol).toBe(false);
    } finally {
      s.close();
    }
    // A client that sends one anyway has that stream reset (PROTOCOL_ERROR); the connection goes on.
    const [ws, after] = await python(['--extended-connect', 'websocket', '/v2/ws', '/v2/after-ws']);
    expect([ws!.status, ws!.reset]).toEqual([null, 1]);
    expect([after!.status, JSON.parse(after!.body).url]).toEqual([200, '/v2/after-ws']);
  });

  it('serves an independent HTTP/2 stack (Python h2), and HTTP/1.1 on the same port', async () => {
    const replies = await python(['/v2/py1', '/v2/py2']);
    expect(replies.map((r) => [r.path, r.status, JSON.parse(r.body).url])).toEqual([
      ['/v2/py1', 200, '/v2/py1'],
      ['/v2/py2', 200, '/v2/py2'],
    ]);
    const h1 = await send(`${wp.base}/v2/h1`, { headers: { host: 'echo' } });
    expect(json(h1)).toMatchObject({ backend: 'echo', url: '/v2/h1' });
  });
});

describe('draining HTTP/2 connections of the plain listener', () => {
  it('sends GOAWAY on SIGTERM, lets the stream in flight finish, and exits 0', async () => {
    const s = session();
    const goaway = new Promise((r) => s.once('goaway', r));
    const inFlight = get(s, 'slow', '/slow');
    await slowReached;
    wp.child.kill('SIGTERM');
    await goaway;
    releaseSlow();
    const r = await inFlight;
    expect([r.headers[':status'], r.body]).toEqual([200, 'slow done']);
    expect(await wp.exited).toBe(0);
    s.destroy();
  });
});
