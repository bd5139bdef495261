import { createServer, type Http2Server } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, send, startWaypoint, type WaypointProcess } from './harness.ts';

let grpc: Http2Server;
let dir: ConfigDir;
let wp: WaypointProcess;
const seen: { version: string; path: string; te?: string }[] = [];

beforeAll(async () => {
  // An h2c backend that answers like gRPC: headers, a message, then trailers with grpc-status.
  grpc = createServer((req, res) => {
    seen.push({ version: req.httpVersion, path: req.url, te: req.headers.te as string | undefined });
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' });
    res.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
  });
  await new Promise<void>((r) => grpc.listen(0, '127.0.0.1', r));
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    `
apiVersion: v1
kind: Service
metadata: { name: greeter }
spec: { clusterIP: 10.96.0.40, ports: [{ name: grpc, port: 80, appProtocol: kubernetes.io/h2c }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: greeter-1, labels: { kubernetes.io/service-name: greeter } }
addressType: IPv4
ports: [{ name: grpc, port: ${(grpc.address() as AddressInfo).port} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: Service
metadata: { name: gone }
spec: { ports: [{ name: grpc, port: 80, appProtocol: grpc }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: gone-1, labels: { kubernetes.io/service-name: gone } }
addressType: IPv4
ports: [{ name: grpc, port: 1 }]
endpoints: [{ addresses: [127.0.0.1] }]
`,
  );
  wp = await startWaypoint(dir.path);
});

afterAll(async () => {
  await wp?.stop();
  grpc?.close();
  dir?.remove();
});

describe('HTTP/2 (h2c) to backends whose Service port says so', () => {
  it('speaks HTTP/2 upstream to an appProtocol kubernetes.io/h2c port, for an HTTP/1.1 client', async () => {
    const r = await send(`${wp.base}/helloworld.Greeter/SayHello`, { method: 'POST', headers: { host: 'greeter', 'content-type': 'application/grpc', te: 'trailers' }, body: Buffer.from([0, 0, 0, 0, 0]) });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(seen.at(-1)).toEqual({ version: '2.0', path: '/helloworld.Greeter/SayHello', te: 'trailers' });
  });

  it('passes the backend trailers (grpc-status) on, as HTTP/1.1 chunked trailers', async () => {
    const raw = await new Promise<string>((resolve) => {
      const s = connect(wp.httpPort, '127.0.0.1');
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (out += d));
      s.on('end', () => resolve(out));
      s.write('POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: greeter\r\nTE: trailers\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\nConnection: close\r\n\r\n\0\0\0\0\0');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw).toMatch(/\r\ngrpc-status: 0\r\n/);
  });

  it('answers 503 UF when the HTTP/2 backend cannot be reached', async () => {
    const r = await send(`${wp.base}/x`, { headers: { host: 'gone' } });
    expect([r.status, r.body]).toEqual([503, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure']);
  });

  it('keeps one HTTP/2 session for many requests', async () => {
    const before = seen.length;
    await Promise.all(Array.from({ length: 20 }, () => send(`${wp.base}/many`, { headers: { host: 'greeter' } })));
    expect(seen.length - before).toBe(20);
  });
});
