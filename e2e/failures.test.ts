import { createServer, type Server } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, json, meshRoute, rawExchange, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess, accessLogFor, unusedPort } from './harness.ts';

let ok: Backend, midway: Backend, slowStream: Backend, slowHeaders: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;
let closedPort: number;
let hangup: Server;
let garbage: Server;
let smuggler: Server;

beforeAll(async () => {
  ok = await startBackend('ok');
  // Sends headers and part of the body, then drops the connection.
  midway = await startBackend('midway', (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('x'.repeat(100));
    setTimeout(() => res.socket?.destroy(), 20);
  });
  // Streams a chunk, waits, then finishes: proves the proxy does not buffer whole responses.
  slowStream = await startBackend('slow', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    setTimeout(() => res.end('second'), 400);
  });
  // Answers only after 1.5 s: longer than the 300 ms route timeout below.
  slowHeaders = await startBackend('slow-headers', (_req, res) => {
    const t = setTimeout(() => res.end('too late'), 1500);
    res.on('close', () => clearTimeout(t));
  });
  // Accepts the connection and closes it without answering.
  hangup = createServer((s) => s.destroy());
  await new Promise<void>((r) => hangup.listen(0, '127.0.0.1', r));
  // Answers every request with bytes that are not HTTP.
  garbage = createServer((s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')));
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  // Answers with a header value that carries a bare LF: an attempt to inject a header into the response.
  smuggler = createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nx-a: 1\nset-cookie: stolen=1\r\ncontent-length: 2\r\n\r\nok')));
  await new Promise<void>((r) => smuggler.listen(0, '127.0.0.1', r));
  // A port nobody listens on: bind, read the port, close.
  closedPort = await unusedPort();

  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('ok', [{ port: ok.port }]),
      serviceYaml('refused', [{ port: closedPort }]),
      serviceYaml('not-ready', [{ port: ok.port, ready: false }]),
      serviceYaml('no-slice', []),
      serviceYaml('midway', [{ port: midway.port }]),
      serviceYaml('slow', [{ port: slowStream.port }]),
      serviceYaml('hangup', [{ port: (hangup.address() as { port: number }).port }]),
      serviceYaml('garbage', [{ port: (garbage.address() as { port: number }).port }]),
      serviceYaml('smuggler', [{ port: (smuggler.address() as { port: number }).port }]),
      serviceYaml('timed', [{ port: slowHeaders.port }]),
      meshRoute('timed', 'timed', '[{ matches: [{ path: { type: PathPrefix, value: /fast } }], timeouts: { request: 5s }, backendRefs: [{ name: ok, port: 80 }] }, { timeouts: { request: 300ms }, backendRefs: [{ name: timed, port: 80 }] }]'),
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
});

afterAll(async () => {
  await wp?.stop();
  await Promise.all([ok?.close(), midway?.close(), slowStream?.close(), slowHeaders?.close()]);
  hangup?.close();
  garbage?.close();
  smuggler?.close();
  dir?.remove();
});

const logOf = (path: string) => accessLogFor(wp, path);

describe("Envoy's local replies", () => {
  it('503 no healthy upstream (UH) when no endpoint is ready', async () => {
    for (const host of ['not-ready', 'no-slice']) {
      const r = await send(`${wp.base}/uh-${host}`, { headers: { host } });
      expect([r.status, r.body, r.headers['content-type']]).toEqual([503, 'no healthy upstream', 'text/plain']);
      expect((await logOf(`/uh-${host}`)).response_flags).toBe('UH');
    }
  });

  it('503 connection failure (UF) when the endpoint refuses the connection, after the default 2 retries (URX)', async () => {
    const r = await send(`${wp.base}/uf`, { headers: { host: 'refused' } });
    expect(r.status).toBe(503);
    expect(r.body).toBe('upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure');
    expect(await logOf('/uf')).toMatchObject({ response_flags: 'UF,URX', upstream_host: `127.0.0.1:${closedPort}` });
  });

  it('503 connection termination (UC) when the endpoint closes before answering', async () => {
    const r = await send(`${wp.base}/uc`, { headers: { host: 'hangup' } });
    expect(r.status).toBe(503);
    expect(r.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: connection termination');
    expect((await logOf('/uc')).response_flags).toBe('UC');
  });

  it('503 protocol error (UPE) when the backend answers something that is not HTTP/1.1, and keeps serving', async () => {
    for (const host of ['garbage', 'smuggler']) {
      const r = await send(`${wp.base}/upe-${host}`, { headers: { host } });
      expect([r.status, r.body]).toEqual([503, 'upstream connect error or disconnect/reset before headers. reset reason: protocol error']);
      expect(r.headers['set-cookie']).toBeUndefined();
      expect(await logOf(`/upe-${host}`)).toMatchObject({ response_flags: 'UPE', upstream_transport_failure_reason: 'UPSTREAM_PROTOCOL_ERROR' });
    }
    expect(json(await send(`${wp.base}/`, { headers: { host: 'ok' } })).backend).toBe('ok');
  });

  it('resets the client connection when the backend dies mid-response, and keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET /mid HTTP/1.1\r\nHost: midway\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw.length).toBeLessThan(1000); // the client never gets the promised 1000 bytes
    expect((await logOf('/mid')).response_flags).toBe('UC');
    expect(json(await send(`${wp.base}/`, { headers: { host: 'ok' } })).backend).toBe('ok');
  });

  it('504 upstream request timeout (UT) when the route timeout passes before the response', async () => {
    const t0 = Date.now();
    const r = await send(`${wp.base}/slow`, { headers: { host: 'timed' } });
    expect([r.status, r.body]).toEqual([504, 'upstream request timeout']);
    expect(Date.now() - t0).toBeLessThan(1400);
    expect((await logOf('/slow')).response_flags).toBe('UT');
  });

  it('tells the backend the route timeout in x-envoy-expected-rq-timeout-ms', async () => {
    expect(json(await send(`${wp.base}/fast`, { headers: { host: 'timed' } })).headers['x-envoy-expected-rq-timeout-ms']).toBe('5000');
  });

  it('streams a response as the backend produces it', async () => {
    const started = Date.now();
    const r = await request(`${wp.base}/stream`, { headers: { host: 'slow' } });
    const reader = r.body[Symbol.asyncIterator]();
    const first = await reader.next();
    const firstAt = Date.now() - started;
    expect(String(first.value)).toBe('first;');
    let rest = '';
    for (let n = await reader.next(); !n.done; n = await reader.next()) rest += String(n.value);
    expect(rest).toBe('second');
    expect(Date.now() - started - firstAt).toBeGreaterThanOrEqual(250);
  });
});

describe('hostile and malformed requests', () => {
  it('answers 400 to a malformed request line and keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, 'THIS IS NOT HTTP\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(json(await send(`${wp.base}/`, { headers: { host: 'ok' } })).backend).toBe('ok');
  });

  it('answers 431 to oversized headers (over 60 KiB) and keeps serving', async () => {
    const raw = await rawExchange(wp.httpPort, `GET / HTTP/1.1\r\nHost: ok\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(json(await send(`${wp.base}/`, { headers: { host: 'ok' } })).backend).toBe('ok');
  });

  it('answers 400 to a header with a forbidden character', async () => {
    const raw = await rawExchange(wp.httpPort, 'GET / HTTP/1.1\r\nHost: ok\r\nX-Bad: a\x00b\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('answers 400 to a request with both content-length and transfer-encoding (smuggling)', async () => {
    const raw = await rawExchange(wp.httpPort, 'POST / HTTP/1.1\r\nHost: ok\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('survives a client that disconnects mid-upload', async () => {
    const raw = rawExchange(wp.httpPort, 'POST /upload HTTP/1.1\r\nHost: ok\r\nContent-Length: 100000\r\n\r\npartial', 300);
    await raw;
    expect(json(await send(`${wp.base}/`, { headers: { host: 'ok' } })).backend).toBe('ok');
  });
});
