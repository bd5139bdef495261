import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect as h2connect, createServer as createH2Server } from 'node:http2';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Pool, requestHead, type ResponseHeaders, type UpstreamController, type UpstreamRequest } from '../src/upstream-h1.ts';

// Real TCP servers on loopback: scripted ones that write exact bytes, and Node's own HTTP server.

const servers: (Server | HttpServer)[] = [];
const pools: Http1Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.close(r), (s as HttpServer).closeAllConnections?.()))));
});

/** A server that answers each request head it reads with `answer(head, socket, index)`. */
async function scripted(answer: (head: string, socket: Socket, index: number) => void): Promise<{ port: number; connections: () => number; heads: string[] }> {
  let connections = 0;
  const heads: string[] = [];
  const server = createServer((socket) => {
    connections++;
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('data', (d: string) => {
      buf += d;
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        const len = /\r\ncontent-length: (\d+)/i.exec(head);
        if (len) buf = buf.slice(Number(len[1]));
        heads.push(head);
        answer(head, socket, heads.length - 1);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, heads };
}

function pool(port: number, overrides: Partial<ConstructorParameters<typeof Http1Pool>[0]> = {}): Http1Pool {
  const p = new Http1Pool({
    authority: `127.0.0.1:${port}`,
    open: () =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    keepAliveMs: 60_000,
    ...overrides,
  });
  pools.push(p);
  return p;
}

interface Outcome {
  status?: number;
  headers?: ResponseHeaders;
  body: string;
  chunks: number;
  /** Chunks handed on as the last of the body. */
  lastChunks: number;
  error?: Error & { code?: string };
}

function send(p: Http1Pool, req: Partial<UpstreamRequest> = {}, hooks: { onStart?: (c: UpstreamController) => void; onData?: (c: UpstreamController) => void } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '', chunks: 0, lastChunks: 0 };
    p.dispatch(
      { method: 'GET', path: '/', headers: [], body: null, ...req },
      {
        onResponseStart: (c, status, headers) => {
          out.status = status;
          out.headers = headers;
          hooks.onStart?.(c);
        },
        onResponseData: (c, chunk, last) => {
          out.body += chunk.toString('latin1');
          out.chunks++;
          if (last) out.lastChunks++;
          hooks.onData?.(c);
        },
        onResponseEnd: () => resolve(out),
        onResponseError: (_c, err) => resolve({ ...out, error: err }),
      },
    );
  });
}

describe('response framing', () => {
  const cases: { name: string; response: string; method?: string; status: number; body: string }[] = [
    { name: 'Content-Length', response: 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello', status: 200, body: 'hello' },
    { name: 'Content-Length 0', response: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', status: 200, body: '' },
    {
      name: 'chunked, with extensions and trailers',
      response: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n',
      status: 200,
      body: 'hello 0123456789',
    },
    { name: 'no body for HEAD', method: 'HEAD', response: 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n', status: 200, body: '' },
    { name: 'no body for 204', response: 'HTTP/1.1 204 No Content\r\n\r\n', status: 204, body: '' },
    { name: 'no body for 304', response: 'HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n', status: 304, body: '' },
    { name: 'interim 100 and 103 skipped', response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok', status: 201, body: 'ok' },
    { name: 'a status line without a reason', response: 'HTTP/1.1 404\r\ncontent-length: 1\r\n\r\nx', status: 404, body: 'x' },
  ];

  for (const c of cases) {
    for (const split of ['whole', 'one byte at a time'] as const) {
      it(`${c.name} (${split})`, async () => {
        const server = await scripted((_h, socket) => {
          if (split === 'whole') return void socket.write(c.response, 'latin1');
          const bytes = Buffer.from(c.response, 'latin1');
          let i = 0;
          const next = () => {
            if (i >= bytes.length) return;
            socket.write(bytes.subarray(i, ++i));
            setImmediate(next);
          };
          next();
        });
        const p = pool(server.port);
        const first = await send(p, { method: c.method ?? 'GET' });
        expect(first.error).toBeUndefined();
        expect(first.status).toBe(c.status);
        expect(first.body).toBe(c.body);
        // the connection is reused for the next request
        const second = await send(p, { method: c.method ?? 'GET' });
        expect(second.body).toBe(c.body);
        expect(server.connections()).toBe(1);
      });
    }
  }

  it('reads a close-delimited body to the end, and does not reuse the connection', async () => {
    const server = await scripted((_h, socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    const p = pool(server.port);
    expect((await send(p)).body).toBe('until the end');
    expect((await send(p)).body).toBe('until the end');
    expect(server.connections()).toBe(2);
  });

  it('opens a new connection after `connection: close` and after an HTTP/1.0 answer without keep-alive', async () => {
    const server = await scripted((_h, socket, i) =>
      socket.write(i === 0 ? 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na' : 'HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nb'),
    );
    const p = pool(server.port);
    expect((await send(p)).body).toBe('a');
    expect((await send(p)).body).toBe('b');
    expect((await send(p)).body).toBe('b');
    expect(server.connections()).toBe(3);
  });

  it('marks the chunk that completes a Content-Length body as the last', async () => {
    const server = await scripted((_h, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc');
      setTimeout(() => socket.write('def'), 20);
    });
    const r = await send(pool(server.port));
    expect(r.body).toBe('abcdef');
    expect(r.chunks).toBe(2);
    expect(r.lastChunks).toBe(1);
  });

  it('keeps repeated headers, lowercases names and trims values', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie:  b=2 \r\nX-One:v\r\ncontent-length: 0\r\n\r\n'));
    const r = await send(pool(server.port));
    expect(r.headers).toEqual(['set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-one', 'v', 'content-length', '0']);
  });
});

describe('malformed responses fail the request (503 UPE upstream) and close the connection', () => {
  const cases: [string, string][] = [
    ['a status line that is not HTTP/1.x', 'HTTP/2 200\r\n\r\n'],
    ['a garbage status line', 'hello\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\ncontent-length: 0\r\n\r\n'],
    ['a bare LF inside a header value', 'HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\ncontent-length: 0\r\n\r\n'],
    ['a bare CR inside a header value', 'HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\ncontent-length: 0\r\n\r\n'],
    ['a NUL in a header value', 'HTTP/1.1 200 OK\r\nx-a: 1\u0000\r\ncontent-length: 0\r\n\r\n'],
    ['a status code below 100', 'HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n'],
    ['a status line with no space after the code', 'HTTP/1.1 200OK\r\ncontent-length: 0\r\n\r\n'],
    ['a folded header', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 0\r\n\r\n'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nx-a : 1\r\ncontent-length: 0\r\n\r\n'],
    ['conflicting content-lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab'],
    ['a non-numeric content-length', 'HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\na'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk data without its CRLF', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\naXY\r\n0\r\n\r\n'],
    ['an unrequested upgrade', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'],
    ['headers over 64 KiB', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`],
  ];
  for (const [name, response] of cases) {
    it(name, async () => {
      const server = await scripted((_h, socket) => socket.write(response));
      const p = pool(server.port);
      const r = await send(p);
      expect(r.error?.code).toBe('UPSTREAM_PROTOCOL_ERROR');
      expect(p.connections).toBe(0);
    });
  }

  it('closes a connection that sends bytes after a complete response', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\naEXTRA'));
    const p = pool(server.port);
    expect((await send(p)).body).toBe('a');
    expect(p.connections).toBe(0);
  });
});

describe('requests', () => {
  it('writes the request line, the headers in order, and Host when absent', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const p = pool(server.port);
    await send(p, { method: 'GET', path: '/a?b=c', headers: ['x-a', '1', 'X-B', '2'] });
    await send(p, { method: 'GET', path: '/', headers: ['Host', 'example.com'] });
    expect(server.heads[0]).toBe(`GET /a?b=c HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nx-a: 1\r\nX-B: 2\r\n\r\n`);
    expect(server.heads[1]).toBe('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
  });

  it('declares a buffered body by its own length, and zero for a POST without one', async () => {
    expect(requestHead('POST', '/', ['content-length', '99'], 'h', Buffer.from('abc'))).toBe('POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\n');
    expect(requestHead('POST', '/', [], 'h', null)).toBe('POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n');
    expect(requestHead('GET', '/', ['content-length', '0'], 'h', null)).toBe('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  });

  it.each([
    ['a CRLF in a header value', ['x-a', 'v\r\ninjected: 1']],
    ['a bare LF in a header value', ['x-a', 'v\nx']],
    ['a NUL in a header value', ['x-a', 'v\0']],
    ['a space in a header name', ['x a', 'v']],
    ['an empty header name', ['', 'v']],
  ])('refuses %s instead of sending it', async (_name, headers) => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const r = await send(pool(server.port), { headers });
    expect(r.error?.code).toBe('INVALID_UPSTREAM_REQUEST');
    expect(server.heads).toEqual([]);
  });

  it('refuses a path with spaces or control characters', () => {
    expect(() => requestHead('GET', '/a b', [], 'h', null)).toThrow(/invalid request path/);
    expect(() => requestHead('GET', '/a\r\n', [], 'h', null)).toThrow(/invalid request path/);
    expect(() => requestHead('GE T', '/', [], 'h', null)).toThrow(/invalid method/);
  });

  it('streams a body of unknown length chunked, and one of known length as it is, to a real HTTP server', async () => {
    const received: { te?: string; cl?: string; body: string }[] = [];
    const server = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('latin1').on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({ te: req.headers['transfer-encoding'], cl: req.headers['content-length'], body });
        res.end(`got ${body.length}`);
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const p = pool(port);
    const chunked = new PassThrough();
    const pending = send(p, { method: 'POST', body: chunked as unknown as IncomingMessage });
    chunked.write('part one, ');
    chunked.write(Buffer.alloc(0));
    setTimeout(() => chunked.end('part two'), 20);
    expect((await pending).body).toBe('got 18');
    const known = new PassThrough();
    const pending2 = send(p, { method: 'PUT', headers: ['content-length', '4'], body: known as unknown as IncomingMessage });
    known.end('abcd');
    expect((await pending2).body).toBe('got 4');
    expect(received).toEqual([
      { te: 'chunked', cl: undefined, body: 'part one, part two' },
      { te: undefined, cl: '4', body: 'abcd' },
    ]);
  });
});

describe('over an HTTP/2 CONNECT stream (an HBONE tunnel)', () => {
  it('sends heads, buffered and streamed bodies intact, and reuses the stream', async () => {
    // The HTTP/2 server plays the destination: each CONNECT stream is an HTTP/1.1 connection it answers.
    const received: string[] = [];
    const h2 = createH2Server();
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      let buf = Buffer.alloc(0);
      stream.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          received.push(buf.toString('latin1', 0, end + 4 + length));
          buf = buf.subarray(end + 4 + length);
          stream.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
      });
    });
    servers.push(h2 as unknown as Server);
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const session = h2connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    let tunnels = 0;
    const p = pool(0, {
      authority: '10.0.0.1:8080',
      open: async () => {
        tunnels++;
        const stream = session.request({ ':method': 'CONNECT', ':authority': '10.0.0.1:8080' });
        await once(stream, 'response');
        return stream;
      },
    });
    try {
      expect((await send(p, { method: 'GET', path: '/a', headers: ['x-a', 'ü'] })).body).toBe('ok'); // obs-text: one latin1 byte
      expect((await send(p, { method: 'POST', path: '/b', headers: ['content-type', 'text/plain'], body: Buffer.from('bödy', 'utf8') })).body).toBe('ok');
      // Above the size up to which a head and a body are joined into one write.
      expect((await send(p, { method: 'POST', path: '/big', headers: [], body: Buffer.alloc(20_000, 'q') })).body).toBe('ok');
      const streamed = new PassThrough();
      const pending = send(p, { method: 'PUT', path: '/c', headers: ['content-length', '5'], body: streamed as unknown as IncomingMessage });
      streamed.end('12345');
      expect((await pending).body).toBe('ok');
      expect(tunnels).toBe(1);
      expect(received).toEqual([
        'GET /a HTTP/1.1\r\nhost: 10.0.0.1:8080\r\nx-a: ü\r\n\r\n',
        `POST /b HTTP/1.1\r\nhost: 10.0.0.1:8080\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n${Buffer.from('bödy', 'utf8').toString('latin1')}`,
        `POST /big HTTP/1.1\r\nhost: 10.0.0.1:8080\r\ncontent-length: 20000\r\n\r\n${'q'.repeat(20_000)}`,
        'PUT /c HTTP/1.1\r\nhost: 10.0.0.1:8080\r\ncontent-length: 5\r\n\r\n12345',
      ]);
    } finally {
      session.close();
    }
  });
});

describe('connections', () => {
  it('reads and drops the rest of a streamed body when the response comes first and the connection closes', async () => {
    // The endpoint stops reading after the head, so the pool's writes back up and it pauses the body; the
    // answer then comes only once the body is paused.
    let bodyPaused!: () => void;
    const paused = new Promise<void>((r) => (bodyPaused = r));
    let accepted: Socket | undefined;
    const server = createServer((socket) => {
      accepted = socket;
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.pause();
        void paused.then(() => socket.end('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const body = new PassThrough();
    const size = 64 * 1024 * 1024;
    const pause = body.pause.bind(body);
    body.pause = () => (bodyPaused(), pause());
    body.write(Buffer.alloc(size / 2));
    const p = pool((server.address() as AddressInfo).port);
    const r = await send(p, { method: 'POST', headers: ['content-length', String(size)], body: body as unknown as IncomingMessage });
    expect(r.status).toBe(413);
    const ended = once(body, 'end');
    body.end(Buffer.alloc(size / 2));
    await ended; // drained, not left paused
    expect(p.connections).toBe(0);
    accepted?.destroy(); // it stopped reading, so it would not see the close
  });

  it('sends again, on a new connection, a request whose reused connection the endpoint had closed', async () => {
    // The endpoint drops the second request on the first connection without answering, as a server does
    // when its keep-alive timeout fires just as a request arrives.
    const server = await scripted((_h, socket, i) => (i === 1 ? socket.destroy() : socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')));
    const p = pool(server.port);
    expect((await send(p)).body).toBe('ok');
    const r = await send(p);
    expect(r.error).toBeUndefined();
    expect(r.body).toBe('ok');
    expect(server.connections()).toBe(2);
  });

  it('does not send a POST again when its reused connection closes: the endpoint may have acted on it', async () => {
    const server = await scripted((_h, socket, i) => (i === 1 ? socket.destroy() : socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')));
    const p = pool(server.port);
    expect((await send(p)).body).toBe('ok');
    const r = await send(p, { method: 'POST', body: Buffer.from('order') });
    expect(r.error?.code).toMatch(/UPSTREAM_CLOSED|ECONNRESET/);
    expect(server.heads.filter((h) => h.startsWith('POST'))).toHaveLength(1);
  });

  it('fails a request on a new connection that closes before answering (UPSTREAM_CLOSED), without sending it twice', async () => {
    const server = await scripted((_h, socket) => socket.destroy());
    const r = await send(pool(server.port));
    expect(r.error?.code).toMatch(/UPSTREAM_CLOSED|ECONNRESET/);
    expect(server.heads.length).toBe(1);
  });

  it('fails a response cut off mid-body', async () => {
    const server = await scripted((_h, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this'));
    const r = await send(pool(server.port));
    expect(r.status).toBe(200);
    expect(r.body).toBe('only this');
    expect(r.error?.code).toBe('UPSTREAM_CLOSED');
  });

  it('reports a refused connection with its errno code', async () => {
    const server = await scripted(() => {});
    const port = server.port;
    await new Promise((r) => (servers.pop() as Server).close(r));
    const r = await send(pool(port));
    expect(r.error?.code).toBe('ECONNREFUSED');
  });

  it('aborts a request: the connection closes and the handler hears the reason', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const p = pool(server.port);
    const r = await send(p, {}, { onData: (c) => c.abort(new Error('client went away')) });
    expect(r.error?.message).toBe('client went away');
    expect(r.body).toBe('abc');
    await new Promise((r) => setTimeout(r, 20));
    expect(p.connections).toBe(0);
  });

  it('pauses reading while the consumer is paused, and resumes', async () => {
    const big = 'z'.repeat(4 * 1024 * 1024);
    const server = await scripted((_h, socket) => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`));
    const p = pool(server.port);
    let paused = 0;
    const r = await send(
      p,
      {},
      {
        onData: (c) => {
          if (paused++ === 0) {
            c.pause();
            setTimeout(() => c.resume(), 50);
          }
        },
      },
    );
    expect(r.body.length).toBe(big.length);
    expect(r.chunks).toBeGreaterThan(1);
    expect((await send(p)).status).toBe(200); // the paused-then-resumed connection is reusable
    expect(server.connections()).toBe(1);
  });

  it('closes idle connections after the keep-alive time', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const p = pool(server.port, { keepAliveMs: 1000 });
    await send(p);
    expect(p.connections).toBe(1);
    p.sweep(Date.now() + 500);
    expect(p.connections).toBe(1);
    p.sweep(Date.now() + 1500);
    expect(p.connections).toBe(0);
  });

  it('never fails a stalled request, as Istio configures Envoy (stream idle timeout 0)', async () => {
    const server = await scripted(() => {}); // never answers
    const p = pool(server.port, { keepAliveMs: 1000 });
    let settled = false;
    void send(p).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    p.sweep(Date.now() + 10 * 24 * 3600 * 1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    expect(p.connections).toBe(1);
  });

  it('sends a request that was waiting for its connection when the pool closed, and fails it when the pool is destroyed', async () => {
    const server = await scripted((_h, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx'));
    const slowOpen = (port: number) => () =>
      new Promise<Socket>((resolve, reject) =>
        setTimeout(() => {
          const s = connect({ host: '127.0.0.1', port });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }, 30),
      );
    const closing = pool(server.port, { open: slowOpen(server.port) });
    const waiting = send(closing);
    closing.close();
    expect((await waiting).body).toBe('x');
    const destroyed = pool(server.port, { open: slowOpen(server.port) });
    const failing = send(destroyed);
    destroyed.destroy();
    expect((await failing).error?.code).toBe('UPSTREAM_POOL_DESTROYED');
    await new Promise((r) => setTimeout(r, 20));
    expect(destroyed.connections).toBe(0);
  });

  it('fails new requests once closed, and lets the one in flight finish', async () => {
    const server = await scripted((_h, socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx'), 30));
    const p = pool(server.port);
    const inFlight = send(p);
    await new Promise((r) => setTimeout(r, 10));
    p.close();
    expect((await send(p)).error?.code).toBe('UPSTREAM_POOL_CLOSED');
    expect((await inFlight).body).toBe('x');
    expect(p.connections).toBe(0);
  });
});
