import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connect as connectH2, createServer as createH2Server } from 'node:http2';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FastBodyRequest, FastPathListener, FastRequest, type FastResponse } from '../src/http1-fast-path.ts';
import { acceptPriorKnowledgeH2c, createHttpServer } from '../src/http-server.ts';
import type { ServerResponse } from '../src/node-http.ts';
import { tunnelSocket } from '../src/tunnel-socket.ts';

type Answer = (req: IncomingMessage | FastRequest | FastBodyRequest, res: ServerResponse | FastResponse) => void;

const isFast = (req: unknown) => req instanceof FastRequest || req instanceof FastBodyRequest;

/** A plain listener as the waypoint builds one: the fast path first, node:http's server behind it. */
async function listener(answer: Answer): Promise<{ port: number; server: Server; fast: FastPathListener; protocolErrors: string[]; handlerErrors: string[] }> {
  const protocolErrors: string[] = [];
  const handlerErrors: string[] = [];
  const hooks = { onProtocolError: (err: NodeJS.ErrnoException) => void protocolErrors.push(err.code ?? err.message) };
  const server = createHttpServer(answer as never, hooks);
  const fast = new FastPathListener((err) => void handlerErrors.push(err.message));
  acceptPriorKnowledgeH2c(server, answer as never, hooks, undefined, (socket, toNodeHttp) => fast.serve(socket, toNodeHttp, answer as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, server, fast, protocolErrors, handlerErrors };
}
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections(), s.close();
});

/** Which server answered, and what it was asked. */
const whoAnswers: Answer = (req, res) => {
  const body = `${isFast(req) ? 'fast' : 'node'} ${req.method} ${req.url} ${req.headers['x-n'] ?? ''}`;
  (res as ServerResponse).writeHead(200, ['content-type', 'text/plain', 'content-length', String(body.length)]);
  res.end(body);
};

/** Opens a connection, sends `data` (pieces written apart), and collects what comes back until `until` holds or the peer closes. */
async function exchange(port: number, data: string | string[], until: (got: string) => boolean = () => false, ms = 3000): Promise<{ got: string; closed: boolean; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = '';
  let closed = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (until(got)) clearTimeout(timer), resolve();
    });
    socket.on('close', () => ((closed = true), clearTimeout(timer), resolve()));
    socket.on('error', () => undefined);
  });
  for (const piece of Array.isArray(data) ? data : [data]) {
    socket.write(piece);
    await new Promise((r) => setTimeout(r, 20));
  }
  await done;
  return { got, closed, socket };
}

/** Responses in `raw`, each as [head lines without Date, body]. */
function responses(raw: string): { status: string; headers: string[]; body: string }[] {
  const out = [];
  let rest = raw;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [status, ...headers] = rest.slice(0, end).split('\r\n');
    rest = rest.slice(end + 4);
    let body = '';
    const length = headers.find((h) => h.toLowerCase().startsWith('content-length:'));
    if (length) {
      const n = Number(length.split(':')[1]);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    } else if (headers.some((h) => h === 'Transfer-Encoding: chunked')) {
      const term = rest.indexOf('0\r\n');
      const stop = rest.indexOf('\r\n\r\n', term) + 4;
      body = rest.slice(0, stop);
      rest = rest.slice(stop);
    }
    // node:http answers Expect: 100-continue with an interim response first.
    if (!status!.startsWith('HTTP/1.1 100 ')) out.push({ status: status!, headers: headers.filter((h) => !h.startsWith('Date: ')), body });
  }
  return out;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
const count = (n: number) => (got: string) => got.split('HTTP/1.1 ').length - got.split('HTTP/1.1 100 ').length >= n;

describe('HTTP/1.1 fast path on a plain listener', () => {
  it('serves keep-alive requests, one after another and pipelined, in order', async () => {
    const { port } = await listener(whoAnswers);
    const { got } = await exchange(port, [get('/1', 'x-n: 1\r\n'), get('/2') + get('/3', 'x-n: 3\r\n')], count(3));
    expect(responses(got).map((r) => r.body)).toEqual(['fast GET /1 1', 'fast GET /2 ', 'fast GET /3 3']);
  });

  it('frames answers byte for byte as node:http does: fixed length (small and large), chunked with trailers, HEAD, 204', async () => {
    const answer: Answer = (req, res) => {
      const r = res as ServerResponse;
      if (req.url === '/chunked') {
        r.writeHead(200, ['content-type', 'text/plain']);
        r.write('abc');
        r.addTrailers({ 'x-t': '1' });
        r.end('de');
      } else if (req.url === '/empty') {
        r.writeHead(204, ['x-e', '1']);
        r.end();
      } else if (req.url === '/large') {
        // Above the size up to which the head and body are joined into one buffer.
        r.writeHead(200, ['content-length', '20000']);
        r.end(Buffer.alloc(20_000, 'z'));
      } else {
        r.writeHead(200, { 'x-obj': ['1', '2'], 'content-length': '5' });
        r.end('hello');
      }
    };
    const { port } = await listener(answer);
    // HEAD last: its answer's Content-Length has no body after it.
    const requests = [get('/fixed'), get('/chunked'), get('/empty'), get('/large'), 'HEAD /fixed HTTP/1.1\r\nHost: a\r\n\r\n'];
    const fast = responses((await exchange(port, requests.join(''), count(5))).got);
    // The same requests, each with a header repeated, are node:http's: the answers must not differ.
    const viaNode = responses((await exchange(port, requests.map((r) => r.replace('\r\n\r\n', '\r\nx-d: 1\r\nx-d: 2\r\n\r\n')).join(''), count(5))).got);
    expect(fast).toEqual(viaNode);
    expect(fast.map((r) => r.status)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 204 No Content', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(fast[3]!.body).toBe('z'.repeat(20_000));
    expect(fast[1]!.body).toBe('3\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n');
    expect(fast[0]!.headers).toContain('Keep-Alive: timeout=60');
  });

  it('hands a connection to node:http for what it does not take, with the bytes not yet answered', async () => {
    const { port } = await listener(whoAnswers);
    const cases = [
      `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n${'a'.repeat(70_000)}`,
      'GET /h10 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n',
      get('/dup', 'x-n: 1\r\nX-N: 2\r\n'),
      get('/expect', 'expect: 100-continue\r\n'),
      get('/obs', 'x-n: caf\xe9\r\n'),
      get('/te', 'transfer-encoding: chunked\r\n') + '0\r\n\r\n',
    ];
    for (const request of cases) {
      // The first request of the connection is the fast path's; the second is not, nor any after it.
      const { got } = await exchange(port, get('/first') + request + get('/after'), count(3));
      const bodies = responses(got).map((r) => r.body.split(' ').slice(0, 2).join(' '));
      expect([bodies[0], bodies[2]], request).toEqual(['fast GET', 'node GET']);
      expect(bodies[1]!.startsWith('node '), request).toBe(true);
    }
  });

  it("leaves node:http's answers to bad requests in force", async () => {
    const { port, protocolErrors } = await listener(whoAnswers);
    const bad = async (request: string) => (await exchange(port, request, (g) => g.includes('\r\n\r\n'))).got.split('\r\n')[0];
    expect(await bad('GET /x HTTP/1.1\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request'); // no Host
    expect(await bad('FOO /x HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await bad('GET /x HTTP/1.1\r\nHost: a\r\nbad header: 1\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await bad(get('/fold', 'x-n: 1\r\n  more\r\n'))).toBe('HTTP/1.1 400 Bad Request'); // obs-fold
    expect(await bad(get('/many', Array.from({ length: 101 }, (_, i) => `x-${i}: 1\r\n`).join('')))).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(await bad(get('/big', `x-big: ${'a'.repeat(70_000)}\r\n`))).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    // Counted as protocol errors by node:http's server, as before there was a fast path.
    expect(new Set(protocolErrors)).toEqual(new Set(['HPE_INVALID_METHOD', 'HPE_INVALID_HEADER_TOKEN', 'HPE_HEADER_OVERFLOW']));
  });

  it('takes a body that came with its head, pipelined or not, and leaves one still on its way to node:http', async () => {
    const { port } = await listener((req, res) => {
      let body = '';
      if (req instanceof FastRequest || req.method === 'GET') return whoAnswers(req, res);
      req.setEncoding('latin1');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const text = `${isFast(req) ? 'fast' : 'node'} ${req.method} ${body}`;
        (res as ServerResponse).writeHead(201, ['content-length', String(text.length)]);
        res.end(text);
      });
    });
    const post = (body: string) => `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const together = await exchange(port, post('hello') + post('') + get('/g'), count(3));
    // A Content-Length of 0 is a request without a body.
    expect(responses(together.got).map((r) => r.body)).toEqual(['fast POST hello', 'fast POST /p ', 'fast GET /g ']);
    const apart = await exchange(port, [post('hello').slice(0, -3), 'llo', get('/g')], count(2));
    expect(responses(apart.got).map((r) => r.body)).toEqual(['node POST hello', 'node GET /g ']);
  });

  it('serves a head that arrives in pieces through node:http', async () => {
    const { port } = await listener(whoAnswers);
    const { got } = await exchange(port, ['GET /sp', 'lit HTTP/1.1\r\nHo', 'st: a\r\n\r\n'], count(1));
    expect(responses(got)[0]!.body).toBe('node GET /split ');
  });

  it('closes after the answer to a request that asks it to', async () => {
    const { port } = await listener(whoAnswers);
    const { got, closed } = await exchange(port, get('/c', 'connection: close\r\n') + get('/never'));
    expect(closed).toBe(true);
    expect(responses(got).map((r) => [r.body, r.headers.includes('Connection: close')])).toEqual([['fast GET /c ', true]]);
  });

  it('tells the proxy when the client goes away before its answer is complete', async () => {
    let closedEarly: boolean | undefined;
    const { port } = await listener((_req, res) => {
      (res as ServerResponse).writeHead(200, ['content-length', '10']);
      res.write('12345');
      (res as FastResponse).once('close', () => (closedEarly = !res.writableFinished));
    });
    const { socket } = await exchange(port, get('/half'), (g) => g.endsWith('12345'));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(closedEarly).toBe(true);
  });

  it('reports an answer whose last write never reached the client as unfinished', async () => {
    let finished: boolean | undefined;
    let ended = () => undefined as void;
    const endedNow = new Promise<void>((r) => (ended = r));
    const { port } = await listener((_req, res) => {
      const body = Buffer.alloc(8 << 20, 120);
      (res as ServerResponse).writeHead(200, ['content-length', String(body.length)]);
      (res as FastResponse).once('close', () => (finished = res.writableFinished));
      res.end(body);
      ended();
    });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.pause(); // reads nothing: the 8 MB stay queued in the waypoint
    socket.write(get('/big'));
    await endedNow;
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    for (let i = 0; i < 100 && finished === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(finished).toBe(false);
  });

  it("closes the connection of a request whose handler throws, reports the error, and serves the next", async () => {
    const { port, handlerErrors } = await listener((req, res) => {
      if (req.url === '/throw') throw new Error('handler bug');
      whoAnswers(req, res);
    });
    const broken = await exchange(port, get('/throw'), () => false, 1000);
    expect([broken.closed, broken.got]).toEqual([true, '']);
    expect(handlerErrors).toEqual(['handler bug']);
    expect(responses((await exchange(port, get('/fine'), count(1))).got)[0]!.body).toBe('fast GET /fine ');
  });

  it('refuses to send a header value that would split the response, as node:http does', async () => {
    let code: string | undefined;
    const { port } = await listener((_req, res) => {
      try {
        (res as ServerResponse).writeHead(200, ['x-bad', 'a\r\nx-injected: 1']);
      } catch (e) {
        code = (e as NodeJS.ErrnoException).code;
      }
      (res as ServerResponse).writeHead(500, ['content-length', '0']);
      res.end();
    });
    const { got } = await exchange(port, get('/inject'), count(1));
    expect(code).toBe('ERR_INVALID_CHAR');
    expect(got).not.toContain('x-injected');
  });

  it("serves a tunnel's HTTP/2 stream itself, byte for byte, and hands it to node:http the same way", async () => {
    // A real HTTP/2 connection on loopback, as an HBONE tunnel's stream arrives (without the TLS).
    const h2 = createH2Server();
    const fast = new FastPathListener(() => undefined);
    const chunky: Answer = (req, res) => {
      if (req.url !== '/chunked') return whoAnswers(req, res);
      (res as ServerResponse).writeHead(200, ['content-type', 'text/plain']);
      res.write('hello ');
      res.end('world');
    };
    const nodeHttp = createHttpServer(chunky as never, { onProtocolError: () => undefined });
    const timeouts: number[] = [];
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      // A tunnel lives as long as the tunnel: no idle timeout is ever set on its stream.
      const setTimeout = stream.setTimeout.bind(stream);
      stream.setTimeout = (ms: number, cb?: () => void) => (timeouts.push(ms), setTimeout(ms, cb));
      fast.serve(stream as unknown as Socket, () => {
        const socket = tunnelSocket(stream);
        nodeHttp.emit('connection', socket);
        socket.resume();
      }, chunky as never, { http2Stream: true });
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const session = connectH2(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    try {
      const tunnel = session.request({ ':method': 'POST', ':path': '/' });
      let got = '';
      tunnel.on('data', (d: Buffer) => (got += d.toString('latin1')));
      tunnel.write(get('/t1') + get('/chunked') + get('/t2', 'x-n: 1\r\nx-n: 2\r\n') + get('/t3'));
      for (let i = 0; i < 200 && !count(4)(got); i++) await new Promise((r) => setTimeout(r, 10));
      const answers = responses(got);
      expect(answers.map((r) => r.status)).toEqual(Array(4).fill('HTTP/1.1 200 OK'));
      expect(answers.map((r) => r.body)).toEqual(['fast GET /t1 ', '6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n', 'node GET /t2 1, 2', 'node GET /t3 ']);
      expect(answers[1]!.headers).toContain('Transfer-Encoding: chunked');
      expect(timeouts).toEqual([]);
      tunnel.close();
    } finally {
      session.destroy();
      h2.close();
    }
  });

  it('drains: an idle connection closes at once, a busy one after its answer', async () => {
    let release: () => void = () => undefined;
    const { port, fast } = await listener((req, res) => {
      const go = () => whoAnswers(req, res);
      if (req.url === '/slow') release = go;
      else go();
    });
    const idle = exchange(port, get('/idle'), () => false, 2000);
    const busy = exchange(port, get('/slow'), () => false, 2000);
    await new Promise((r) => setTimeout(r, 100));
    fast.closeGracefully();
    release();
    const [i, b] = await Promise.all([idle, busy]);
    expect([i.closed, responses(i.got).length]).toEqual([true, 1]);
    expect([b.closed, responses(b.got).map((r) => r.body)]).toEqual([true, ['fast GET /slow ']]);
  });
});

describe('HTTP/1.1 fast path against llhttp', () => {
  /** Answers with what it was given (its body included), as JSON, and whether the fast path parsed it. */
  const echo: Answer = (req, res) => {
    const { method, url, headers, rawHeaders } = req;
    const answer = (received: string) => {
      const body = JSON.stringify({ method, url, headers, rawHeaders, received });
      (res as ServerResponse).writeHead(200, ['content-length', String(Buffer.byteLength(body)), 'x-fast', String(isFast(req))]);
      res.end(body);
    };
    if (req instanceof FastRequest) return answer('');
    let received = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (received += d));
    req.on('end', () => answer(received));
  };

  /** node:http's server alone, as the waypoint had it before the fast path. */
  async function nodeOnly(): Promise<number> {
    const server = createHttpServer(echo as never, { onProtocolError: () => undefined });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return (server.address() as AddressInfo).port;
  }

  /** The first answer to `bytes` (status line and body), or what came before the connection closed. */
  async function firstAnswer(port: number, bytes: string): Promise<{ status: string; body: string; fast: boolean }> {
    const { got, socket } = await exchange(port, bytes, (g) => responses(g).length > 0 || /^HTTP\/1\.1 [45]\d\d/.test(g), 500);
    socket.destroy();
    const r = responses(got)[0];
    return r ? { status: r.status, body: r.body, fast: r.headers.includes('x-fast: true') } : { status: got.split('\r\n')[0] ?? '', body: '', fast: false };
  }

  it('reads every head it takes as node:http reads it, and leaves the rest to node:http', async () => {
    const { port } = await listener(echo);
    const reference = await nodeOnly();
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'FOO', 'get', 'CONNECT');
    const target = fc.constantFrom('/', '/a?b=c&d', '/%20x', '/a b', '*', 'http://x/y', '/\x7f', '/caf\xe9', '/#f', '//x');
    const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'http/1.1');
    const header = fc.constantFrom(
      'Host: a', 'host: b', 'Host:a', 'Host:  a  ', 'X-A: 1', 'x-a: 2', 'X-A : 1', ' X-B: 1', 'X-C: a\tb', 'X-D:', 'Content-Length: 0',
      'Content-Length: 5', 'content-length: 00', 'Transfer-Encoding: chunked', 'Connection: close', 'Connection: keep-alive, x-h',
      'Connection: Upgrade', 'Upgrade: websocket', 'Expect: 100-continue', 'X-E: caf\xe9', 'X-F: a\x01b', 'NoColon', 'X-G: a\rb', 'Cookie: a=1',
      'X-W:  v  ', 'X-T:\tv\t', 'X-U: a b ', 'Accept: */*', 'X-Empty:   ',
    );
    const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n');
    const toBytes = ([m, t, v, hs, end]: [string, string, string, [string, string][], string]) => {
      const head = `${m} ${t} ${v}\r\n${hs.map(([h, e]) => h + e).join('')}${end}`;
      return hs.some(([h]) => h === 'Content-Length: 5') ? `${head}hello` : head;
    };
    // Anything goes; and heads that start well (a method, a target and a version the fast path could
    // take, and a Host), so that many reach the fast path and some of those break a rule further on.
    const anything = fc.tuple(method, target, version, fc.array(fc.tuple(header, eol), { maxLength: 6 }), eol);
    const likely = fc.tuple(
      fc.constantFrom('GET', 'HEAD', 'DELETE', 'OPTIONS'),
      fc.constantFrom('/', '/a?b=c&d', '/%20x', '/#f', '//x'),
      fc.constant('HTTP/1.1'),
      fc.array(fc.tuple(header, fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n')), { maxLength: 4 }).map((hs) => [['Host: a', '\r\n'] as [string, string], ...hs]),
      fc.constant('\r\n'),
    );
    const request = fc.oneof({ arbitrary: anything, weight: 1 }, { arbitrary: likely, weight: 2 }).map(toBytes);
    let fastCount = 0;
    await fc.assert(
      fc.asyncProperty(request, async (bytes) => {
        const [ours, theirs] = await Promise.all([firstAnswer(port, bytes), firstAnswer(reference, bytes)]);
        if (ours.fast) fastCount++;
        expect({ status: ours.status, body: ours.body }, JSON.stringify(bytes)).toEqual({ status: theirs.status, body: theirs.body });
      }),
      { numRuns: 200, seed: 20261130 },
    );
    // The property holds for heads the fast path took, not only for those it handed over.
    expect(fastCount).toBeGreaterThan(30);
  }, 60_000);
});
