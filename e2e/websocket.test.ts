/**
 * WebSocket upgrades through the real process: a real WebSocket client (undici's), a backend that speaks
 * the WebSocket handshake and frames, and HBONE on both sides for the mesh path. Also WebSocket to an
 * HTTP/2 backend as extended CONNECT (RFC 8441, a node:http2 server), the upgrades Envoy refuses (other
 * `Upgrade` types, CONNECT) and those it forwards as plain HTTP/1.1 (h2c).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createH2Server, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigDir,
  accessLogFor,
  certFiles,
  eventually,
  hboneSession,
  makeCerts,
  meshRoute,
  openTunnel,
  rawExchange,
  send,
  serviceYaml,
  startBackend,
  startProcess,
  startWaypoint,
  unusedPort,
  type Backend,
  type WaypointProcess,
} from './harness.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptKey = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

/** One WebSocket frame; a client's frames are masked (RFC 6455 §5.3). */
function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | length]) : Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | 126, length >> 8, length & 0xff]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}

/** A reader of whole frames (payloads up to 64 KiB): feed it bytes, it calls `each` as frames complete. */
function frameReader(each: (opcode: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const masked = (buf[1]! & 0x80) !== 0;
      let length = buf[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        at = 4;
      }
      const end = at + (masked ? 4 : 0) + length;
      if (buf.length < end) return;
      let payload = buf.subarray(at + (masked ? 4 : 0), end);
      if (masked) {
        const mask = buf.subarray(at, at + 4);
        payload = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
      }
      const opcode = buf[0]! & 0x0f;
      buf = buf.subarray(end);
      each(opcode, payload);
    }
  };
}

/** A backend's side of a switched WebSocket: `echo: <text>` for each text message, a close answered with a close. */
function echoMessages(peer: Duplex): (chunk: Buffer) => void {
  return frameReader((opcode, payload) => {
    if (opcode === 1) peer.write(frame(1, Buffer.concat([Buffer.from('echo: '), payload]), false));
    if (opcode === 8) peer.end(frame(8, payload, false));
  });
}

/**
 * A WebSocket backend. It accepts `/chat…` (first message: JSON of the upgrade request it received, then
 * `echo: <text>` for each text message), answers `/refuse` with a plain 400, and on `/vanish` switches
 * and then drops the connection; `/deaf` never closes its side when the peer ends.
 */
async function startWebSocketBackend(): Promise<{ server: Server; port: number; live: Set<Duplex>; ended: Set<Duplex>; close: () => Promise<void> }> {
  const server = createServer((_req, res) => res.end('not an upgrade'));
  /** The switched connections still open. */
  const live = new Set<Duplex>();
  /** Switched connections whose peer ended its side. */
  const ended = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    if (req.url === '/cut') return void socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 100\r\n\r\nonly part');
    if (req.url === '/refuse') return void socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 7\r\nx-backend: ws\r\n\r\nrefused');
    const key = String(req.headers['sec-websocket-key']);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\nx-backend: ws\r\n\r\n`);
    socket.write(frame(1, Buffer.from(JSON.stringify({ url: req.url, method: req.method, headers: req.headers })), false));
    if (req.url === '/vanish') return void setTimeout(() => socket.destroy(), 50);
    socket.on('data', echoMessages(socket));
    socket.on('error', () => socket.destroy());
    // The peer is gone: close this side too (except on `/deaf`, which only notes the end of the stream).
    if (req.url === '/deaf') socket.on('end', () => ended.add(socket));
    else socket.on('end', () => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    live,
    ended,
    close: () =>
      new Promise<void>((r) => {
        for (const s of live) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A WebSocket backend over HTTP/2 (RFC 8441): extended CONNECT streams with `:protocol: websocket`, answered
 * `200`, then the frames of `startWebSocketBackend` (first message: JSON of the stream's headers). `/refuse`
 * gets a `400` with a body. `offer: false` leaves SETTINGS_ENABLE_CONNECT_PROTOCOL out, as a server without
 * RFC 8441 does; plain GETs are answered `200 h2 <path>` either way.
 */
async function startH2WebSocketBackend(
  offer: boolean,
): Promise<{ server: Http2Server; port: number; live: Set<ServerHttp2Stream>; sessions: Set<ServerHttp2Session>; close: () => Promise<void> }> {
  const server = createH2Server({ settings: { enableConnectProtocol: offer } });
  const live = new Set<ServerHttp2Stream>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    if (headers[':method'] !== 'CONNECT' && headers[':path'] !== '/cut') return void stream.respond({ ':status': 200 }, { endStream: false }), stream.end(`h2 ${headers[':path']}`);
    if (headers[':path'] === '/refuse') {
      stream.respond({ ':status': 400, 'content-type': 'text/plain', 'x-backend': 'ws-h2' });
      return void stream.end('refused');
    }
    if (headers[':path'] === '/cut') {
      // Part of an answer (a refusal to a CONNECT, a 200 to a GET), then the connection goes away.
      stream.respond({ ':status': headers[':method'] === 'CONNECT' ? 400 : 200, 'content-type': 'text/plain' });
      stream.write('only part');
      return void setTimeout(() => stream.session?.socket.destroy(), 50);
    }
    live.add(stream);
    stream.once('close', () => live.delete(stream));
    stream.respond({ ':status': 200, 'x-backend': 'ws-h2' });
    stream.write(frame(1, Buffer.from(JSON.stringify({ headers })), false));
    stream.on('data', echoMessages(stream));
    stream.on('end', () => stream.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    live,
    sessions,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

interface RawClient {
  /** The response head, as text. */
  head: string;
  /** Text messages received so far. */
  messages: string[];
  send(text: string): void;
  closed: Promise<void>;
  stream: Duplex;
}

/** A WebSocket handshake and text messages written by hand over any byte stream (a socket, an HBONE tunnel). */
async function rawWebSocket(stream: Duplex, host: string, path: string, extra = ''): Promise<RawClient> {
  const key = Buffer.from('0123456789abcdef').toString('base64');
  stream.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n${extra}\r\n`);
  const closed = new Promise<void>((r) => {
    stream.once('close', r);
    stream.once('end', r);
  });
  stream.on('error', () => undefined);
  const messages: string[] = [];
  const frames = frameReader((opcode, payload) => opcode === 1 && messages.push(payload.toString()));
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    let head: string | undefined;
    stream.on('data', (chunk: Buffer) => {
      if (head !== undefined) return frames(chunk);
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = text.slice(0, end);
      resolve(head);
      frames(Buffer.from(text.slice(end + 4), 'latin1'));
    });
    stream.once('close', () => head === undefined && reject(new Error(`closed before a response head: ${JSON.stringify(text)}`)));
  });
  return { head, messages, send: (t) => stream.write(frame(1, Buffer.from(t), true)), closed, stream };
}

const until = async (fn: () => boolean, what: string) => {
  if (!(await eventually(fn, 5000, 10))) throw new Error(`timed out waiting for ${what}`);
};

let ws: Awaited<ReturnType<typeof startWebSocketBackend>>;
let wsH2: Awaited<ReturnType<typeof startH2WebSocketBackend>>;
let noConnectH2: Awaited<ReturnType<typeof startH2WebSocketBackend>>;
let plain: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;

beforeAll(async () => {
  ws = await startWebSocketBackend();
  wsH2 = await startH2WebSocketBackend(true);
  noConnectH2 = await startH2WebSocketBackend(false);
  plain = await startBackend('plain');
  const closed = await unusedPort();
  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('ws', [{ port: ws.port }]),
      serviceYaml('plain', [{ port: plain.port }]),
      serviceYaml('gone', [{ port: closed }]),
      serviceYaml('ws-h2', [{ port: wsH2.port }], undefined, 'http2'),
      serviceYaml('no-connect', [{ port: noConnectH2.port }], undefined, 'kubernetes.io/h2c'),
      meshRoute(
        'ws-h2',
        'ws-h2',
        `[{ filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: h2 }] } }, { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-waypoint, value: seen }] } }], backendRefs: [{ name: ws-h2, port: 80 }] }]`,
      ),
      meshRoute(
        'ws',
        'ws',
        `
  - matches: [{ path: { type: PathPrefix, value: /moved } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /chat }, statusCode: 301 } }]
  - matches: [{ path: { type: PathPrefix, value: / } }]
    filters:
      - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: ws }] } }
      - { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-waypoint, value: seen }] } }
    backendRefs: [{ name: ws, port: 80 }]`,
      ),
      // A Gateway listener whose route takes every Host, for a client that cannot set Host itself.
      `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  gatewayClassName: istio
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge-ws }
spec:
  parentRefs: [{ name: edge }]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /chat } }]
    filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: x-gateway, value: edge }] } }]
    backendRefs: [{ name: ws, port: 80 }]
`,
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
}, 60_000);

afterAll(async () => {
  await wp?.stop();
  await ws?.close();
  await wsH2?.close();
  await noConnectH2?.close();
  await plain?.close();
  dir?.remove();
});

const socketTo = async (port: number): Promise<Socket> => {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
};

describe('WebSocket through the plain listener', () => {
  it('carries a real WebSocket client to the backend and back, with the route filters applied to the handshake', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${wp.httpPort}/chat/room1?user=a`);
    const messages: string[] = [];
    client.addEventListener('message', (e) => messages.push(String(e.data)));
    await once(client as unknown as EventTarget, 'open');
    await until(() => messages.length >= 1, 'the greeting');
    const seen = JSON.parse(messages[0]!) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/chat/room1?user=a');
    expect(seen.headers.upgrade).toBe('websocket');
    expect(seen.headers.connection).toBe('upgrade');
    expect(seen.headers['x-gateway']).toBe('edge');
    expect(seen.headers['sec-websocket-key']).toBeTruthy();
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    for (const text of ['one', 'two', 'x'.repeat(2000)]) client.send(text);
    await until(() => messages.length >= 4, 'three echoes');
    expect(messages.slice(1)).toEqual(['echo: one', 'echo: two', `echo: ${'x'.repeat(2000)}`]);
    client.close(1000, 'bye');
    await once(client as unknown as EventTarget, 'close');

    const log = await accessLogFor(wp, '/chat/room1?user=a');
    expect(log).toMatchObject({ response_code: 101, response_flags: '-', response_code_details: 'via_upstream', method: 'GET' });
    expect(log.bytes_sent as number).toBeGreaterThan(2000);
    expect(log.bytes_received as number).toBeGreaterThan(2000);
    const stats = await (await fetch(`http://127.0.0.1:${wp.adminPort}/stats?filter=upgrades`)).text();
    expect(stats).toMatch(/http\.inbound\.downstream_cx_upgrades_total: [1-9]/);
    expect(await eventually(async () => /downstream_cx_upgrades_active: 0/.test(await (await fetch(`http://127.0.0.1:${wp.adminPort}/stats?filter=upgrades_active`)).text()))).toBe(true);
  });

  it('applies mesh routes by Host: request headers set, response headers added to the 101', async () => {
    const c = await rawWebSocket(await socketTo(wp.httpPort), 'ws.default', '/room');
    expect(c.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(c.head).toMatch(/\r\nsec-websocket-accept: /i);
    expect(c.head).toMatch(/\r\nconnection: upgrade\r\n/i);
    expect(c.head).toMatch(/\r\nupgrade: websocket(\r\n|$)/i);
    expect(c.head).toMatch(/\r\nx-waypoint: seen\r\n/);
    expect(c.head).toMatch(/\r\nserver: istio-envoy\r\n/);
    expect(c.head).toMatch(/\r\nx-envoy-upstream-service-time: \d+\r\n/);
    await until(() => c.messages.length >= 1, 'the greeting');
    expect(JSON.parse(c.messages[0]!).headers['x-route']).toBe('ws');
    c.send('hello');
    await until(() => c.messages.length >= 2, 'the echo');
    expect(c.messages[1]).toBe('echo: hello');
    c.stream.end(frame(8, Buffer.from([0x03, 0xe8]), true));
    await c.closed;
  });

  it('holds many tunnels open at once, each with its own messages', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, async () => rawWebSocket(await socketTo(wp.httpPort), 'ws.default', '/many')));
    clients.forEach((c, i) => c.send(`n${i}`));
    await until(() => clients.every((c) => c.messages.length >= 2), 'every echo');
    expect(clients.map((c) => c.messages[1])).toEqual(clients.map((_, i) => `echo: n${i}`));
    for (const c of clients) c.stream.destroy();
    await until(() => ws.live.size === 0, 'every backend connection to close');
  });

  it('forwards an endpoint that refuses to switch as a normal response, then closes the connection', async () => {
    const raw = await rawExchange(wp.httpPort, `GET /refuse HTTP/1.1\r\nhost: ws.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\nsec-websocket-version: 13\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw).toMatch(/\r\nx-backend: ws\r\n/);
    expect(raw.endsWith('\r\n\r\nrefused')).toBe(true);
    expect((await accessLogFor(wp, '/refuse')).response_code).toBe(400);
  });

  it('resets the client when a refusal is cut off mid-body, and keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /cut HTTP/1.1\r\nhost: ws.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n', 3000);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toMatch(/\r\ncontent-length: 100\r\n/);
    expect(raw.endsWith('only part')).toBe(true);
    expect((await accessLogFor(wp, '/cut')).response_flags).toBe('UC');
    expect((await send(`${wp.base}/after-cut`, { headers: { host: 'plain' } })).status).toBe(200);
  });

  it('answers a redirect route with its redirect, not a switch', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /moved HTTP/1.1\r\nhost: ws.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 301 Moved Permanently\r\n/);
    expect(raw).toMatch(/\r\nlocation: http:\/\/ws\.default:80\/chat\r\n/);
  });

  it('answers 503 UF when the endpoint cannot be reached, and 404 NR when no route matches', async () => {
    const refused = await rawExchange(wp.httpPort, 'GET /x HTTP/1.1\r\nhost: gone.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n', 15_000);
    expect(refused).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect((await accessLogFor(wp, '/x')).response_flags).toMatch(/^UF/);
    const none = await rawExchange(wp.httpPort, 'GET /y HTTP/1.1\r\nhost: nobody.example\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    expect(none).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
  });

  it('closes the client side when the backend vanishes mid-tunnel, and keeps serving', async () => {
    const c = await rawWebSocket(await socketTo(wp.httpPort), 'ws.default', '/vanish');
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await c.closed;
    const r = await send(`${wp.base}/after`, { headers: { host: 'plain' } });
    expect(r.status).toBe(200);
  });

  it('tears the upstream side down when the client vanishes mid-tunnel', async () => {
    const c = await rawWebSocket(await socketTo(wp.httpPort), 'ws.default', '/client-gone');
    await until(() => c.messages.length >= 1, 'the greeting');
    const greeting = JSON.parse(c.messages[0]!) as { url: string };
    expect(greeting.url).toBe('/client-gone');
    const before = ws.live.size;
    expect(before).toBeGreaterThan(0);
    c.stream.destroy();
    await until(() => ws.live.size === before - 1, 'the backend connection to close');
    const log = await accessLogFor(wp, '/client-gone');
    expect(log.response_code).toBe(101);
  });

  it('closes the client connection when the client ends its side, though the backend does not answer that', async () => {
    const c = await rawWebSocket(await socketTo(wp.httpPort), 'ws.default', '/deaf');
    await until(() => c.messages.length >= 1, 'the greeting');
    const before = ws.ended.size;
    c.stream.end();
    await c.closed;
    await until(() => ws.ended.size === before + 1, 'the end of the stream to reach the backend');
  });

});

describe('WebSocket to an HTTP/2 (h2c) backend, as extended CONNECT', () => {
  it('turns the upgrade into a CONNECT stream with :protocol, and its 200 into a 101, then carries messages both ways', async () => {
    const c = await rawWebSocket(await socketTo(wp.httpPort), 'ws-h2.default', '/chat?room=1', 'content-length: 0\r\n');
    expect(c.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(c.head).toMatch(/\r\nupgrade: websocket(\r\n|$)/i);
    expect(c.head).toMatch(/\r\nconnection: upgrade(\r\n|$)/i);
    expect(c.head).toMatch(/\r\nx-backend: ws-h2(\r\n|$)/);
    expect(c.head).toMatch(/\r\nx-waypoint: seen(\r\n|$)/);
    await until(() => c.messages.length >= 1, 'the greeting');
    const seen = (JSON.parse(c.messages[0]!) as { headers: Record<string, string> }).headers;
    expect(seen[':method']).toBe('CONNECT');
    expect(seen[':protocol']).toBe('websocket');
    expect(seen[':path']).toBe('/chat?room=1');
    expect(seen[':scheme']).toBe('http');
    expect(seen['x-route']).toBe('h2');
    expect(seen['sec-websocket-version']).toBe('13');
    expect(seen.upgrade).toBeUndefined();
    expect(seen.connection).toBeUndefined();
    expect(seen['content-length']).toBeUndefined();
    for (let i = 0; i < 3; i++) c.send(`h${i}`);
    await until(() => c.messages.length >= 4, 'three echoes');
    expect(c.messages.slice(1)).toEqual(['echo: h0', 'echo: h1', 'echo: h2']);
    c.stream.end(frame(8, Buffer.from([0x03, 0xe8]), true));
    await c.closed;
    await until(() => wsH2.live.size === 0, 'the backend stream to close');
    const log = await accessLogFor(wp, '/chat?room=1');
    expect(log.response_code).toBe(101);
  });

  it('holds several tunnels on the one HTTP/2 connection, each with its own messages', async () => {
    const clients = await Promise.all([0, 1, 2].map(async () => rawWebSocket(await socketTo(wp.httpPort), 'ws-h2.default', '/many')));
    clients.forEach((c, i) => c.send(`c${i}`));
    await until(() => clients.every((c) => c.messages.length >= 2), 'an echo on each tunnel');
    clients.forEach((c, i) => expect(c.messages[1]).toBe(`echo: c${i}`));
    expect(wsH2.live.size).toBe(3);
    expect(wsH2.sessions.size).toBe(1);
    for (const c of clients) c.stream.destroy();
    await until(() => wsH2.live.size === 0, 'the backend streams to close after the clients vanished');
  });

  it('forwards any answer but 200 as a normal response, then closes the connection', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /refuse HTTP/1.1\r\nhost: ws-h2.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toMatch(/\r\nx-backend: ws-h2\r\n/);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw.endsWith('\r\n\r\n7\r\nrefused\r\n0\r\n\r\n')).toBe(true);
  });

  it('resets the client, without the last chunk, when a refusal is cut off mid-body, and keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /cut HTTP/1.1\r\nhost: ws-h2.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n', 3000);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.endsWith('\r\n\r\n9\r\nonly part\r\n')).toBe(true);
    expect((await accessLogFor(wp, '/cut')).response_flags).toBe('UC');
    expect((await send(`http://127.0.0.1:${wp.httpPort}/after-cut`, { headers: { host: 'ws-h2.default' } })).status).toBe(200);
  });

  it('resets the client of an ordinary request too when an HTTP/2 answer is cut off mid-body', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /cut HTTP/1.1\r\nhost: no-connect.default\r\n\r\n', 3000);
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.endsWith('\r\n\r\n9\r\nonly part\r\n')).toBe(true);
    expect((await send(`http://127.0.0.1:${wp.httpPort}/after-cut`, { headers: { host: 'no-connect.default' } })).body).toBe('h2 /after-cut');
  });

  it('fails the try with 503 when the backend does not offer extended CONNECT, and its connection keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /ws HTTP/1.1\r\nhost: no-connect.default\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(raw).toContain('upstream connect error or disconnect/reset before headers');
    const log = await accessLogFor(wp, '/ws');
    expect(log.response_flags).toBe('UPE');
    expect(log.response_code_details).toBe('upstream_reset_before_response_started{protocol_error}');
    const after = await send(`http://127.0.0.1:${wp.httpPort}/after`, { headers: { host: 'no-connect.default' } });
    expect(after.status).toBe(200);
    expect(after.body).toBe('h2 /after');
  });
});

describe('upgrades Envoy does not carry', () => {
  it('refuses another Upgrade type on a route with 403 upgrade_failed and closes the connection', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /other HTTP/1.1\r\nhost: plain\r\nupgrade: foo/1\r\nconnection: Upgrade\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: plain\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw).not.toContain('smuggled');
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect((await accessLogFor(wp, '/other')).response_code_details).toBe('upgrade_failed');
    const stats = await (await fetch(`http://127.0.0.1:${wp.adminPort}/stats?filter=ws_on_non_ws`)).text();
    expect(stats).toMatch(/downstream_rq_ws_on_non_ws_route: [1-9]/);
  });

  it('answers another Upgrade type with 404 when no route matches it', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /other HTTP/1.1\r\nhost: nobody.example\r\nupgrade: foo/1\r\nconnection: Upgrade\r\n\r\n', 500);
    expect(raw).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
  });

  it('serves an h2c upgrade request as plain HTTP/1.1, without its upgrade headers', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /h2c HTTP/1.1\r\nhost: plain\r\nupgrade: h2c\r\nconnection: Upgrade, HTTP2-Settings\r\nhttp2-settings: AAMAAABkAAQAAP__\r\n\r\n', 500);
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const seen = JSON.parse(/\{.*\}/.exec(raw)![0]) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/h2c');
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers['http2-settings']).toBeUndefined();
  });

  it('answers CONNECT with 403 and closes the connection', async () => {
    const raw = await rawExchange(wp.httpPort, 'CONNECT plain:80 HTTP/1.1\r\nhost: plain:80\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
  });
});

describe('WebSocket over HBONE in and out', () => {
  let certs: ConfigDir;
  let meshDir: ConfigDir;
  let inbound: WaypointProcess;
  let outbound: WaypointProcess;

  beforeAll(async () => {
    certs = new ConfigDir();
    makeCerts(certs.path, ['--identity', 'default/waypoint', '--identity', 'default/sleep']);
    const w = certFiles(certs.path, 'default', 'waypoint');
    const tls = ['--cert', w.cert, '--key', w.key, '--ca', w.ca];
    meshDir = new ConfigDir();
    meshDir.write(
      'config.yaml',
      `${serviceYaml('ws', [{ port: ws.port }], '10.96.0.40')}
${meshRoute('ws', 'ws', '[{ filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: mesh }] } }], backendRefs: [{ name: ws, port: 80 }] }]')}`,
    );
    // The destination side: a waypoint that terminates HBONE and sends the tunnel's HTTP on in plain TCP.
    inbound = await startProcess(['--config', meshDir.path, '--hbone-listen', '127.0.0.1:0', '--upstream', 'plain', ...tls], (p) => p.hbonePort > 0);
    // The waypoint under test, re-originating HBONE to the destination side for every endpoint.
    outbound = await startProcess(['--config', meshDir.path, '--hbone-listen', '127.0.0.1:0', '--upstream', 'hbone', '--hbone-port', String(inbound.hbonePort), ...tls], (p) => p.hbonePort > 0);
  }, 60_000);

  afterAll(async () => {
    await outbound?.stop();
    await inbound?.stop();
    certs?.remove();
    meshDir?.remove();
  });

  it('upgrades inside an HBONE tunnel to a Service and re-originates the upgrade over HBONE', async () => {
    const session = hboneSession(outbound.hbonePort, certFiles(certs.path, 'default', 'sleep'));
    try {
      const stream = await openTunnel(session, '10.96.0.40:80');
      const c = await rawWebSocket(stream, 'ws.default.svc.cluster.local', '/mesh');
      expect(c.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      await until(() => c.messages.length >= 1, 'the greeting');
      const seen = JSON.parse(c.messages[0]!) as { headers: Record<string, string> };
      expect(seen.headers['x-route']).toBe('mesh');
      for (let i = 0; i < 5; i++) c.send(`m${i}`);
      await until(() => c.messages.length >= 6, 'five echoes');
      expect(c.messages.slice(1)).toEqual(['echo: m0', 'echo: m1', 'echo: m2', 'echo: m3', 'echo: m4']);
      stream.end(frame(8, Buffer.from([0x03, 0xe8]), true));
      await c.closed;
    } finally {
      session.close();
    }
  });
});

describe('draining with tunnels open', () => {
  it('closes open WebSocket tunnels at the end of the drain time and exits', async () => {
    const own = await startWaypoint(dir.path, ['--drain-time', '1']);
    try {
      const c = await rawWebSocket(await socketTo(own.httpPort), 'ws.default', '/drain');
      await until(() => c.messages.length >= 1, 'the greeting');
      const started = Date.now();
      own.child.kill('SIGTERM');
      await c.closed;
      expect(await own.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await own.stop();
    }
  });
});
