/**
 * GRPCRoute through the process: a client ztunnel's HBONE tunnel to the Service clusterIP, gRPC (h2c)
 * inside it, routed by service/method and headers to h2c backends.
 */
import { once } from 'node:events';
import { connect as h2connect, createServer as createH2cServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, certFiles, hboneSession, makeCerts, openTunnel, startProcess, type WaypointProcess, unusedPort } from './harness.ts';

let certs: ConfigDir;
let dir: ConfigDir;
let wp: WaypointProcess;
let session: ClientHttp2Session;
const backends: Http2Server[] = [];
/** Paths each backend was called with, and the :authority it saw. */
const calls: { backend: string; path: string; authority: string }[] = [];

/** An h2c gRPC backend that answers every call with its name in a response header and grpc-status 0. */
async function grpcBackend(name: string): Promise<number> {
  const server = createH2cServer((req, res) => {
    calls.push({ backend: name, path: req.url, authority: String(req.headers[':authority']) });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'x-backend': name, 'x-path': req.url });
      res.addTrailers({ 'grpc-status': '0' });
      res.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  // The waypoint going away at the end resets its sessions to the backends: expected, not a failure.
  server.on('sessionError', () => undefined);
  backends.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const grpcService = (name: string, ip: string, port: number) => `
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { clusterIP: ${ip}, ports: [{ name: grpc, port: 80, appProtocol: grpc }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: grpc, port: ${port} }]
endpoints: [{ addresses: [127.0.0.1] }]
`;

beforeAll(async () => {
  certs = new ConfigDir();
  makeCerts(certs.path, ['--identity', 'default/waypoint', '--identity', 'default/client']);
  const v1 = await grpcBackend('greeter-v1');
  const v2 = await grpcBackend('greeter-v2');
  const closedPort = await unusedPort();

  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      grpcService('greeter', '10.96.1.10', v1),
      grpcService('greeter-v2', '10.96.1.11', v2),
      grpcService('down', '10.96.1.12', closedPort),
      grpcService('mirrored', '10.96.1.13', v1),
      grpcService('faulty', '10.96.1.14', v1),
      `---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: greeter }
spec:
  parentRefs: [{ group: "", kind: Service, name: greeter }]
  rules:
  - matches: [{ method: { service: helloworld.Greeter, method: SayHello }, headers: [{ name: x-canary, value: "yes" }] }]
    backendRefs: [{ name: greeter-v2, port: 80 }]
  - matches: [{ method: { service: helloworld.Greeter } }]
    backendRefs: [{ name: greeter, port: 80 }]
  - matches: [{ method: { type: RegularExpression, method: "Admin.*" } }]
    backendRefs: [{ name: greeter-v2, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: mirrored }
spec:
  parentRefs: [{ group: "", kind: Service, name: mirrored }]
  rules:
  - filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: greeter-v2, port: 80 } } }]
    backendRefs: [{ name: mirrored, port: 80 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: faulty }
spec:
  hosts: [faulty]
  http:
  - fault: { abort: { grpcStatus: RESOURCE_EXHAUSTED, percentage: { value: 100 } } }
    route: [{ destination: { host: faulty } }]
`,
    ].join('\n'),
  );
  const w = certFiles(certs.path, 'default', 'waypoint');
  wp = await startProcess(['--config', dir.path, '--hbone-listen', '127.0.0.1:0', '--upstream', 'plain', '--cert', w.cert, '--key', w.key, '--ca', w.ca], (p) => p.hbonePort > 0);
  session = hboneSession(wp.hbonePort, certFiles(certs.path, 'default', 'client'));
  // The waypoint stopping at the end may reset the session before it has closed: expected.
  session.on('error', () => undefined);
});

afterAll(async () => {
  session?.close();
  await wp?.stop();
  for (const b of backends) b.close();
  certs?.remove();
  dir?.remove();
});

/** One gRPC call in a fresh tunnel to `authority`: the response headers, trailers, and whether the headers ended the stream. */
async function call(authority: string, path: string, extra: Record<string, string> = {}): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; trailersOnly: boolean }> {
  const t = await openTunnel(session, authority);
  const inner = h2connect('http://grpc.local', { createConnection: () => t as never });
  // Closing the inner session resets the tunnel stream; that reset is expected, not a failure.
  t.on('error', () => undefined);
  inner.on('error', () => undefined);
  try {
    const req = inner.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    let trailers: IncomingHttpHeaders = {};
    req.on('trailers', (t) => (trailers = t));
    const [headers, flags] = (await once(req, 'response')) as [IncomingHttpHeaders, number];
    req.resume();
    if (!req.closed) await once(req, 'close');
    // END_STREAM (0x1) on the HEADERS frame itself: a trailers-only response.
    return { headers, trailers, trailersOnly: (flags & 1) === 1 };
  } finally {
    inner.close();
  }
}

describe('GRPCRoute', () => {
  it('routes by service and method, header matches first, to h2c backends with trailers', async () => {
    const canary = await call('10.96.1.10:80', '/helloworld.Greeter/SayHello', { 'x-canary': 'yes' });
    expect([canary.headers['x-backend'], canary.trailers['grpc-status']]).toEqual(['greeter-v2', '0']);
    const plain = await call('10.96.1.10:80', '/helloworld.Greeter/SayHello');
    expect([plain.headers['x-backend'], plain.trailers['grpc-status']]).toEqual(['greeter-v1', '0']);
    const other = await call('10.96.1.10:80', '/helloworld.Greeter/SayGoodbye');
    expect(other.headers['x-backend']).toBe('greeter-v1');
    const admin = await call('10.96.1.10:80', '/ops.Control/AdminReset');
    expect([admin.headers['x-backend'], admin.headers['x-path']]).toEqual(['greeter-v2', '/ops.Control/AdminReset']);
  });

  it('answers a call no rule matches with grpc-status 12 (UNIMPLEMENTED), trailers-only', async () => {
    const r = await call('10.96.1.10:80', '/other.Service/Method');
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.headers['grpc-status']).toBe('12');
    expect(r.trailersOnly).toBe(true);
  });

  it('answers grpc-status 14 (UNAVAILABLE), trailers-only, when no upstream can answer', async () => {
    const r = await call('10.96.1.12:80', '/helloworld.Greeter/SayHello');
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['grpc-status']).toBe('14');
    expect(decodeURIComponent(String(r.headers['grpc-message']))).toBe(
      'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure',
    );
    expect(r.trailersOnly).toBe(true);
    const cluster = '"upstream_cluster":"inbound-vip|80|http|down.default.svc.cluster.local"';
    for (let i = 0; i < 100 && !wp.stdout.includes(cluster); i++) await new Promise((r) => setTimeout(r, 20));
    const log = JSON.parse(wp.stdout.split('\n').find((l) => l.includes(cluster))!);
    expect(log).toMatchObject({ response_code: 200, response_flags: 'UF,URX' });
  });
});

describe('gRPC with mirrors and faults', () => {
  it('mirrors a call to an h2c backend with the -shadow authority, answering from the real one', async () => {
    const r = await call('10.96.1.13:80', '/mirror.Test/Call');
    expect([r.headers['x-backend'], r.trailers['grpc-status']]).toEqual(['greeter-v1', '0']);
    for (let i = 0; i < 100 && !calls.some((c) => c.path === '/mirror.Test/Call' && c.backend === 'greeter-v2'); i++) await new Promise((res) => setTimeout(res, 20));
    expect(calls.find((c) => c.path === '/mirror.Test/Call' && c.backend === 'greeter-v2')?.authority).toBe('grpc.local-shadow:80');
  });

  it('answers an Istio fault abort with its gRPC status, trailers-only', async () => {
    const r = await call('10.96.1.14:80', '/faulty.Service/Call');
    expect([r.headers[':status'], r.headers['grpc-status'], decodeURIComponent(String(r.headers['grpc-message'])), r.trailersOnly]).toEqual([200, '8', 'fault filter abort', true]);
    expect(calls.some((c) => c.path === '/faulty.Service/Call')).toBe(false);
  });
});

