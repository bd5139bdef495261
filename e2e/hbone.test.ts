/**
 * HBONE through the real process, with real certificates from `waypoint certs` and an HTTP/2 peer that is
 * not Node's (Python's h2, from Debian's python3-h2) on both sides: as the client ztunnel and as the
 * destination ztunnel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as h2connect, createServer as createH2cServer, type Http2Server } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, PYTHON, ROOT, WaypointProcess, certFiles, hboneSession, json, makeCerts, openTunnel as tunnel, send, startBackend, startProcess, type Backend } from './harness.ts';

const CLIENT = join(ROOT, 'e2e', 'interop', 'hbone_client.py');
const ZTUNNEL = join(ROOT, 'e2e', 'interop', 'fake_ztunnel.py');

let certs: ConfigDir, otherCa: ConfigDir, dir: ConfigDir;
let backend: Backend, fixed: Backend;
let greeter: Http2Server;
let tcpEcho: Server;
let inbound: WaypointProcess;
let outbound: WaypointProcess;
let ztunnel: ChildProcess;
let ztunnelLog = '';
let ztunnelPort = 0;

const waypointCert = () => certFiles(certs.path, 'default', 'waypoint');
const sleep = () => certFiles(certs.path, 'default', 'sleep');


/** Runs the Python HBONE client. Asynchronously: the backends live in this process and must keep answering. */
async function python(args: string[], timeout = 60_000): Promise<{ status: number | null; out: ReturnType<typeof JSON.parse>; stderr: string }> {
  const child = spawn(PYTHON, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  let out;
  try {
    out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
  } catch {
    out = { raw: stdout };
  }
  return { status, out, stderr };
}

const clientArgs = (authority: string, extra: string[] = [], files = sleep()) => [
  '--connect',
  `127.0.0.1:${inbound.hbonePort}`,
  '--cert',
  files.cert,
  '--key',
  files.key,
  '--ca',
  files.ca,
  '--authority',
  authority,
  ...extra,
];

/** The body of a raw HTTP/1.1 response, de-chunked when it is chunked. */
function httpBody(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).toLowerCase();
  let rest = raw.slice(split + 4);
  if (!head.includes('transfer-encoding: chunked')) return rest;
  let body = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return body;
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

const nodeSession = (files = sleep()) => hboneSession(inbound.hbonePort, files);

beforeAll(async () => {
  certs = new ConfigDir();
  makeCerts(certs.path, ['--identity', 'default/waypoint', '--identity', 'default/sleep', '--identity', 'default/echo']);
  makeCerts(certs.path, ['--identity', 'default/expired', '--expired']);
  makeCerts(certs.path, ['--dns', 'sleep.example.com']);
  otherCa = new ConfigDir();
  makeCerts(otherCa.path, ['--identity', 'default/sleep']);

  backend = await startBackend('echo');
  greeter = createH2cServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0' });
    res.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  await new Promise<void>((r) => greeter.listen(0, '127.0.0.1', r));
  fixed = await startBackend('fixed', (_req, res) => {
    res.writeHead(200, { 'content-length': '10', 'content-type': 'text/plain' });
    res.end('fixed body');
  });
  tcpEcho = createTcpServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  const tcpPort = (tcpEcho.address() as AddressInfo).port;

  ztunnel = spawn(PYTHON, [ZTUNNEL, '--listen', '127.0.0.51:0', ...Object.entries(certFiles(certs.path, 'default', 'echo')).flatMap(([k, v]) => [`--${k}`, v])], { stdio: ['ignore', 'pipe', 'pipe'] });
  ztunnel.stdout!.setEncoding('utf8').on('data', (d: string) => (ztunnelLog += d));
  ztunnel.stderr!.setEncoding('utf8').on('data', (d: string) => (ztunnelLog += d));
  for (let i = 0; i < 200 && !/LISTENING (\d+)/.test(ztunnelLog); i++) await new Promise((r) => setTimeout(r, 25));
  ztunnelPort = Number(/LISTENING (\d+)/.exec(ztunnelLog)?.[1]);
  if (!ztunnelPort) throw new Error(`fake ztunnel did not start: ${ztunnelLog}`);

  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    `
apiVersion: v1
kind: Service
metadata: { name: echo }
spec: { clusterIP: 10.96.0.20, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: echo-1, labels: { kubernetes.io/service-name: echo } }
addressType: IPv4
ports: [{ name: http, port: ${backend.port} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: Service
metadata: { name: greeter }
spec: { clusterIP: 10.96.0.23, ports: [{ name: grpc, port: 80, appProtocol: grpc }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: greeter-1, labels: { kubernetes.io/service-name: greeter } }
addressType: IPv4
ports: [{ name: grpc, port: ${(greeter.address() as AddressInfo).port} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: Service
metadata: { name: fixed }
spec: { clusterIP: 10.96.0.22, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: fixed-1, labels: { kubernetes.io/service-name: fixed } }
addressType: IPv4
ports: [{ name: http, port: ${fixed.port} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: Service
metadata: { name: tcp-echo }
spec: { clusterIP: 10.96.0.21, ports: [{ name: tcp-echo, port: 9000 }, { port: 9001 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: tcp-echo-1, labels: { kubernetes.io/service-name: tcp-echo } }
addressType: IPv4
ports: [{ name: tcp-echo, port: ${tcpPort} }, { port: ${tcpPort} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: Pod
metadata: { name: zt-pod }
spec: { serviceAccountName: echo }
status: { podIP: 127.0.0.51 }
---
apiVersion: v1
kind: Service
metadata: { name: zt }
spec: { clusterIP: 10.96.0.30, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: zt-1, labels: { kubernetes.io/service-name: zt } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [127.0.0.51], targetRef: { kind: Pod, name: zt-pod } }]
---
apiVersion: v1
kind: Pod
metadata: { name: impostor-pod }
spec: { serviceAccountName: someone-else }
status: { podIP: 127.0.0.53 }
---
apiVersion: v1
kind: Service
metadata: { name: zt-wrong-identity }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: zt-wrong-1, labels: { kubernetes.io/service-name: zt-wrong-identity } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [127.0.0.51], targetRef: { kind: Pod, name: impostor-pod } }]
---
apiVersion: v1
kind: Service
metadata: { name: zt-absent }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: zt-absent-1, labels: { kubernetes.io/service-name: zt-absent } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [127.0.0.52] }]
`,
  );
  const w = waypointCert();
  const tls = ['--cert', w.cert, '--key', w.key, '--ca', w.ca];
  inbound = await startProcess(['--config', dir.path, '--hbone-listen', '127.0.0.1:0', '--upstream', 'plain', ...tls], (p) => p.hbonePort > 0);
  outbound = await startProcess(
    ['--config', dir.path, '--hbone-listen', 'off', '--http-listen', '127.0.0.1:0=80', '--upstream', 'hbone', '--hbone-port', String(ztunnelPort), ...tls],
    (p) => p.httpPort > 0,
  );
}, 60_000);

afterAll(async () => {
  await inbound?.stop();
  await outbound?.stop();
  ztunnel?.kill('SIGKILL');
  await backend?.close();
  await fixed?.close();
  greeter?.close();
  tcpEcho?.close();
  for (const d of [certs, otherCa, dir]) d?.remove();
});

describe('inbound: an independent HTTP/2 client (Python h2) as the client ztunnel', () => {
  it('tunnels HTTP/1.1 to a Service clusterIP and carries the original client into x-forwarded-for', async () => {
    const r = await python(clientArgs('10.96.0.20:80', ['--forwarded', 'for="10.1.2.3:4444";host=echo.default.svc.cluster.local', '--path', '/via-hbone']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.server_san).toEqual(['spiffe://cluster.local/ns/default/sa/waypoint']);
    const [stream] = r.out.streams;
    expect(stream.connect).toBe(200);
    expect(stream.reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const body = JSON.parse(httpBody(stream.reply));
    expect(body).toMatchObject({ backend: 'echo', url: '/via-hbone' });
    expect(body.headers['x-forwarded-for']).toBe('10.1.2.3');
    const log = await inbound.waitForLog(() => inbound.stdout.includes('"path":"/via-hbone"'));
    void log;
    const line = JSON.parse(inbound.stdout.split('\n').find((l) => l.includes('"path":"/via-hbone"'))!);
    expect(line).toMatchObject({ response_code: 200, downstream_remote_address: '10.1.2.3:4444', downstream_local_address: '10.96.0.20:80', upstream_cluster: 'inbound-vip|80|http|echo.default.svc.cluster.local' });
  });

  it('keeps the status line intact when headers and body leave in one write (Node writev bug on HTTP/2 streams)', async () => {
    const r = await python(clientArgs('10.96.0.22:80', ['--path', '/fixed']));
    expect(r.out.streams[0].reply).toMatch(/^HTTP\/1\.1 200 OK\r\n(.|\r|\n)*\r\n\r\nfixed body$/);
  });

  it('answers 1,000 concurrent CONNECT streams on one connection', async () => {
    const r = await python(clientArgs('10.96.0.20:80', ['--streams', '1000']), 120_000);
    expect(r.status, r.stderr + JSON.stringify(r.out).slice(0, 300)).toBe(0);
    expect(r.out.streams).toHaveLength(1000);
    expect(r.out.streams.filter((s: { connect: number; reply: string }) => s.connect === 200 && s.reply.startsWith('HTTP/1.1 200 OK')).length).toBe(1000);
  }, 120_000);

  it('refuses a CONNECT to an address that is neither a Service nor a workload with 400, and logs it', async () => {
    const r = await python(clientArgs('10.99.99.99:80'));
    expect(r.out.streams[0].connect).toBe(400);
    await inbound.waitForLog((l) => l.msg.includes('HBONE CONNECT to 10.99.99.99:80 refused'));
  });

  it('sends traffic addressed to a workload IP straight to that workload', async () => {
    const r = await python(clientArgs(`127.0.0.1:${backend.port}`, ['--path', '/direct']));
    expect(r.out.streams[0].connect).toBe(200);
    expect(r.out.streams[0].reply).toMatch(/"url":"\/direct"/);
  });
});

describe('inbound: what the tunnel carries', () => {
  it('serves HTTP/2 with prior knowledge (h2c) inside a tunnel', async () => {
    const session = nodeSession();
    try {
      const t = await tunnel(session, '10.96.0.20:80');
      const inner = h2connect('http://echo.default', { createConnection: () => t as never });
      const req = inner.request({ ':path': '/h2c', ':authority': 'echo.default' });
      const [headers] = await once(req, 'response');
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      await once(req, 'end');
      inner.close();
      expect(headers[':status']).toBe(200);
      expect(headers.server).toBe('istio-envoy');
      expect(JSON.parse(body)).toMatchObject({ backend: 'echo', url: '/h2c' });
    } finally {
      session.close();
    }
  });

  it('carries gRPC over h2c in a tunnel to an h2c backend, trailers included', async () => {
    const session = nodeSession();
    try {
      const t = await tunnel(session, '10.96.0.23:80');
      const inner = h2connect('http://greeter.default', { createConnection: () => t as never });
      const req = inner.request({ ':method': 'POST', ':path': '/helloworld.Greeter/SayHello', 'content-type': 'application/grpc', te: 'trailers' });
      req.end(Buffer.from([0, 0, 0, 0, 0]));
      const [headers] = await once(req, 'response');
      const trailers = new Promise<Record<string, unknown>>((r) => req.once('trailers', r));
      req.resume();
      expect(headers[':status']).toBe(200);
      expect(await trailers).toMatchObject({ 'grpc-status': '0' });
      inner.close();
    } finally {
      session.close();
    }
  });

  it('relays a TCP protocol declared by port name, and detects an undeclared one', async () => {
    const session = nodeSession();
    try {
      for (const authority of ['10.96.0.21:9000', '10.96.0.21:9001']) {
        const t = await tunnel(session, authority);
        const payload = Buffer.from([0x00, 0x01, 0x02, 0xff, 0x10]);
        t.write(payload);
        const [echoed] = await once(t, 'data');
        expect(Buffer.compare(echoed as Buffer, payload), authority).toBe(0);
        t.close();
      }
    } finally {
      session.close();
    }
  });

  it('keeps serving other tunnels when a peer vanishes mid-request', async () => {
    const session = nodeSession();
    const t = await tunnel(session, '10.96.0.20:80');
    t.write('POST /upload HTTP/1.1\r\nHost: echo\r\nContent-Length: 100000\r\n\r\npartial');
    await new Promise((r) => setTimeout(r, 50));
    (session.socket as { destroy(): void }).destroy();
    const r = await python(clientArgs('10.96.0.20:80', ['--path', '/after-vanish']));
    expect(r.out.streams[0].reply).toMatch(/^HTTP\/1\.1 200 OK/);
  });
});

describe('inbound: peers the waypoint refuses', () => {
  const attempt = (files: { cert?: string; key?: string }) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: inbound.hbonePort,
        ca: readFileSync(waypointCert().ca),
        ALPNProtocols: ['h2'],
        servername: '',
        checkServerIdentity: () => undefined,
        ...(files.cert ? { cert: readFileSync(files.cert), key: readFileSync(files.key!) } : {}),
      });
      s.on('secureConnect', () => {
        s.once('data', () => resolve('served'));
        s.once('close', () => resolve('closed'));
        s.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00', 'latin1'));
      });
      s.on('error', () => resolve('closed'));
    });

  it('a client without a certificate', async () => expect(await attempt({})).toBe('closed'));
  it('a client certificate from another CA', async () => expect(await attempt(certFiles(otherCa.path, 'default', 'sleep'))).toBe('closed'));
  it('an expired client certificate', async () => expect(await attempt(certFiles(certs.path, 'default', 'expired'))).toBe('closed'));
  it('a client certificate without a SPIFFE identity', async () => {
    const base = join(certs.path, 'dns', 'sleep.example.com');
    expect(await attempt({ cert: join(base, 'cert-chain.pem'), key: join(base, 'key.pem') })).toBe('closed');
    await inbound.waitForLog((l) => l.msg.includes('HBONE refused: client certificate has no SPIFFE identity'));
  });
  it('a request that is not CONNECT, with 400', async () => {
    const session = nodeSession();
    const req = session.request({ ':method': 'GET', ':path': '/' });
    const [headers] = await once(req, 'response');
    session.close();
    expect(headers[':status']).toBe(400);
  });
  it('and the valid client still works afterwards', async () => {
    expect((await python(clientArgs('10.96.0.20:80'))).out.streams[0].connect).toBe(200);
  });
});

describe('certificate rotation in the running process', () => {
  it('serves a rotated certificate to new connections and keeps existing tunnels open', async () => {
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect(
          { host: '127.0.0.1', port: inbound.hbonePort, ca: readFileSync(sleep().ca), cert: readFileSync(sleep().cert), key: readFileSync(sleep().key), ALPNProtocols: ['h2'], servername: '', checkServerIdentity: () => undefined },
          () => (resolve(s.getPeerX509Certificate()!.serialNumber), s.destroy()),
        );
        s.on('error', reject);
      });
    const before = await serial();
    const session = nodeSession();
    const t = await tunnel(session, '10.96.0.21:9000');
    const rotated = inbound.logs.filter((l) => l.msg.startsWith('certificate rotated')).length;
    makeCerts(certs.path, ['--identity', 'default/waypoint']);
    await inbound.waitForLog(() => inbound.logs.filter((l) => l.msg.startsWith('certificate rotated')).length > rotated);
    expect(await serial()).not.toBe(before);
    t.write('still open');
    const [echoed] = await once(t, 'data');
    expect(String(echoed)).toBe('still open');
    session.close();
  });
});

describe('outbound: re-originating HBONE to an independent destination ztunnel (Python h2)', () => {
  it('CONNECTs to <endpoint ip>:<hbone port> with authority <endpoint ip>:<target port>, as the waypoint identity', async () => {
    const r = await send(`${outbound.base}/out?x=1`, { headers: { host: 'zt' } });
    expect(r.status).toBe(200);
    const seen = json(r) as unknown as { ztunnel: boolean; authority: string; peer: string[]; request_line: string; headers: Record<string, string> };
    expect(seen.ztunnel).toBe(true);
    expect(seen.authority).toBe('127.0.0.51:8080');
    expect(seen.peer).toEqual(['spiffe://cluster.local/ns/default/sa/waypoint']);
    expect(seen.request_line).toBe('GET /out?x=1 HTTP/1.1');
    expect(seen.headers.host).toBe('zt');
    expect(ztunnelLog).toContain('"authority": "127.0.0.51:8080"');
  });

  it('carries a request body through the tunnel intact, with its length', async () => {
    const payload = 'päyload '.repeat(1000);
    const r = await send(`${outbound.base}/upload`, { method: 'POST', headers: { host: 'zt', 'content-type': 'text/plain' }, body: payload });
    expect(r.status, `${r.body}\n${outbound.stdout.slice(-600)}\n${ztunnelLog.slice(-600)}`).toBe(200);
    const seen = json(r) as unknown as { request_line: string; headers: Record<string, string>; body: string };
    expect(seen.request_line).toBe('POST /upload HTTP/1.1');
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
    expect(Buffer.from(seen.body, 'latin1').toString('utf8')).toBe(payload);
  });

  it('reuses the tunnel for the next requests (keep-alive inside HBONE)', async () => {
    const before = (ztunnelLog.match(/"event": "connect"/g) ?? []).length;
    for (let i = 0; i < 5; i++) expect((await send(`${outbound.base}/again`, { headers: { host: 'zt' } })).status).toBe(200);
    expect((ztunnelLog.match(/"event": "connect"/g) ?? []).length).toBe(before);
  });

  it('refuses a destination whose certificate is not the endpoint service account: 503 UF', async () => {
    const r = await send(`${outbound.base}/wrong`, { headers: { host: 'zt-wrong-identity' } });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: connection failure/);
  });

  it('answers 503 UF when no ztunnel listens at the endpoint', async () => {
    const r = await send(`${outbound.base}/absent`, { headers: { host: 'zt-absent' } });
    expect([r.status, r.body]).toEqual([503, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure']);
  });
});
