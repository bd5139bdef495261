import type { IncomingMessage, Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acceptPriorKnowledgeH2c, createHttpServer, isRefusedUpgrade, isWebSocketUpgrade, type H2cSessions } from '../src/http-server.ts';

const req = (headers: Record<string, string>) => ({ headers, rawHeaders: Object.entries(headers).flat() }) as unknown as IncomingMessage;

describe('which upgrades the HTTP/1.1 server hands over', () => {
  it.each([
    // Handed over; refused only should one reach the ordinary request path (a Node.js without shouldUpgradeCallback).
    [{ upgrade: 'websocket', connection: 'Upgrade' }, true, true],
    [{ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' }, true, true], // Firefox's Connection
    [{ upgrade: 'websocket' }, false, false], // no Connection token: not an upgrade, an ordinary request
    [{ upgrade: 'websocket', connection: 'keep-alive' }, false, false],
    [{ upgrade: 'h2c', connection: 'Upgrade, HTTP2-Settings' }, false, false], // served as HTTP/1.1
    [{ upgrade: 'foo/1', connection: 'upgrade' }, false, true],
    [{ upgrade: 'websocket, foo', connection: 'upgrade' }, false, true],
    [{ connection: 'upgrade' }, false, false],
  ])('%j: WebSocket %s, refused on the request path %s', (headers, websocket, refused) => {
    expect(isWebSocketUpgrade(req(headers))).toBe(websocket);
    expect(isRefusedUpgrade(req(headers))).toBe(refused);
  });
});

describe('a plain listener taking HTTP/2 with prior knowledge beside HTTP/1.1 (real sockets)', () => {
  const answer = (req: { url?: string; httpVersion: string }, res: { end(body: string): void }) => res.end(`${req.httpVersion} ${req.url}`);

  async function listening(firstBytesTimeoutMs?: number): Promise<{ server: Server; port: number; sessions: H2cSessions; protocolErrors: string[] }> {
    const protocolErrors: string[] = [];
    const hooks = { onProtocolError: (err: NodeJS.ErrnoException) => void protocolErrors.push(String(err.code)) };
    const server = createHttpServer(answer as never, hooks);
    const sessions = acceptPriorKnowledgeH2c(server, answer as never, hooks, firstBytesTimeoutMs);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as AddressInfo).port, sessions, protocolErrors };
  }

  /** Writes `parts` with a pause between them and collects what comes back until the peer closes or `ms` pass. */
  function exchange(port: number, parts: (string | Buffer)[], ms = 1500): Promise<{ text: string; closed: boolean }> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      let closed = false;
      const timer = setTimeout(() => (socket.destroy(), resolve({ text, closed })), ms);
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closed = true;
        clearTimeout(timer);
        resolve({ text, closed });
      });
      void (async () => {
        for (const p of parts) {
          if (socket.destroyed) return;
          socket.write(p);
          await new Promise((r) => setTimeout(r, 30));
        }
      })();
    });
  }

  async function h2get(port: number, paths: string[]): Promise<string[]> {
    const session = h2connect(`http://127.0.0.1:${port}`);
    try {
      return await Promise.all(
        paths.map(
          (path) =>
            new Promise<string>((resolve, reject) => {
              const s = session.request({ ':path': path });
              let body = '';
              s.setEncoding('utf8');
              s.on('data', (d: string) => (body += d));
              s.on('end', () => resolve(body));
              s.on('error', reject);
            }),
        ),
      );
    } finally {
      session.close();
    }
  }

  it('serves HTTP/2 streams, several on one connection, and HTTP/1.1 on the same port', async () => {
    const { server, port } = await listening();
    try {
      expect(await h2get(port, ['/a', '/b', '/c'])).toEqual(['2.0 /a', '2.0 /b', '2.0 /c']);
      const h1 = await exchange(port, ['GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
      expect(h1.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n1\.1 \/d$/);
    } finally {
      server.close();
    }
  });

  it('tells them apart when the first bytes come a few at a time', async () => {
    const { server, port } = await listening();
    try {
      // "P" could begin the HTTP/2 preface; the next bytes say it is HTTP/1.1 after all (here, a bad request).
      const pri = await exchange(port, ['P', 'RI', ' / HTTP/1.1\r\nHost: x\r\n\r\n']);
      expect(pri.text).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      const split = await exchange(port, ['G', 'ET /e HTTP/1.1\r\nHost: x\r\n', 'Connection: close\r\n\r\n']);
      expect(split.text).toMatch(/\r\n\r\n1\.1 \/e$/);
      // The HTTP/2 preface in three writes, then a SETTINGS frame: the server answers with its own SETTINGS.
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
      const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
      const h2 = await exchange(port, [preface.subarray(0, 5), preface.subarray(5, 20), Buffer.concat([preface.subarray(20), settings])], 500);
      expect(Buffer.from(h2.text, 'latin1')[3]).toBe(4); // a SETTINGS frame
    } finally {
      server.close();
    }
  });

  it('answers a broken HTTP/2 start with GOAWAY, counts it as a protocol error, and keeps serving', async () => {
    const { server, port, protocolErrors } = await listening();
    try {
      const bad = await exchange(port, [Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from('not a frame at all, not at all')])]);
      const frames = Buffer.from(bad.text, 'latin1');
      let goaway = false;
      for (let at = 0; at + 9 <= frames.length; at += 9 + frames.readUIntBE(at, 3)) if (frames[at + 3] === 7) goaway = true;
      expect(goaway).toBe(true);
      expect(await h2get(port, ['/after'])).toEqual(['2.0 /after']);
      expect(protocolErrors).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('closes a connection that stays silent, or ends before its protocol is known', async () => {
    const { server, port } = await listening(200);
    try {
      const silent = await exchange(port, [], 1500);
      expect(silent).toEqual({ text: '', closed: true });
      const partial = await exchange(port, ['PRI * HT'], 1500);
      expect(partial).toEqual({ text: '', closed: true });
    } finally {
      server.close();
    }
  });

  it('drains HTTP/2 sessions with GOAWAY: a stream in flight finishes, then the connection closes', async () => {
    let release: () => void = () => undefined;
    const slow = (req: { url?: string }, res: { end(body: string): void }) => {
      if (req.url === '/slow') release = () => res.end('done');
      else res.end('fast');
    };
    const hooks = { onProtocolError: () => undefined };
    const server = createHttpServer(slow as never, hooks);
    const sessions = acceptPriorKnowledgeH2c(server, slow as never, hooks);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const session = h2connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const s = session.request({ ':path': '/slow' });
      let body = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (body += d));
      const ended = new Promise((r) => s.on('end', r));
      await new Promise((r) => setTimeout(r, 100));
      const goaway = new Promise((r) => session.once('goaway', r));
      sessions.closeGracefully();
      await goaway;
      release();
      await ended;
      expect(body).toBe('done');
      await new Promise((r) => (session.closed ? r(undefined) : session.once('close', r)));
    } finally {
      session.destroy();
      server.close();
    }
  });
});

describe("Envoy's request header limits: 100 headers, 60 KiB (real sockets)", () => {
  async function listening(): Promise<{ server: Server; port: number; protocolErrors: string[] }> {
    const protocolErrors: string[] = [];
    const hooks = { onProtocolError: (err: NodeJS.ErrnoException) => void protocolErrors.push(err.message) };
    const answer = (_req: unknown, res: { end(body: string): void }) => res.end('served');
    const server = createHttpServer(answer as never, hooks);
    acceptPriorKnowledgeH2c(server, answer as never, hooks);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as AddressInfo).port, protocolErrors };
  }
  const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));

  it('HTTP/1.1: 100 headers are served; 101 get 431 and the connection closes', async () => {
    const { server, port, protocolErrors } = await listening();
    const raw = (n: number) => `GET / HTTP/1.1\r\nHost: x\r\n${Object.keys(headers(n - 1)).map((k) => `${k}: v\r\n`).join('')}\r\n`;
    try {
      const ok = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => {
          text += d;
          if (text.endsWith('served')) socket.destroy(), resolve(text);
        });
        socket.write(raw(100));
      });
      expect(ok).toMatch(/^HTTP\/1\.1 200 OK/);
      const refused = await new Promise<{ text: string; closed: boolean }>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => (text += d));
        socket.on('close', () => resolve({ text, closed: true }));
        socket.write(raw(101));
      });
      expect(refused.closed).toBe(true);
      expect(refused.text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      expect(refused.text).not.toContain('served');
      expect(protocolErrors).toEqual(['more than 100 request headers']);
    } finally {
      server.close();
    }
  });

  it('HTTP/2: a stream with too many headers is reset, and the connection goes on', async () => {
    const { server, port, protocolErrors } = await listening();
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const request = (h: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const s = session.request({ ':path': '/', ...h });
        let body = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('end', () => resolve(body));
        s.on('error', () => undefined); // the reset, read from rstCode
        s.on('close', () => resolve(s.rstCode ? `reset ${s.rstCode}` : body));
      });
    try {
      // Headers over 60 KiB: Node's client will not send them (e2e/h2c-plain.test.ts sends them with Python's h2).
      expect(await request(headers(96))).toBe('served'); // 96 + 4 pseudo-headers = 100
      expect(await request(headers(97))).toBe('reset 2');
      expect(await request({})).toBe('served');
      expect(protocolErrors).toEqual(['request headers over the limit']);
    } finally {
      session.destroy();
      server.close();
    }
  });
});
