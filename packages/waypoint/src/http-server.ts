import type { IncomingMessage, Server } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { http2 } from '@waypoint/hbone';
import { createServer, ServerResponse } from './node-http.ts';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connectionTokens } from './headers.ts';
import { isH2Preface, sniff } from './protocol-detect.ts';

/** Envoy's default limit on request headers is 60 KiB. */
export const MAX_HEADER_BYTES = 60 * 1024;

/** How long a client connection may stay idle between requests (node:http's keepAliveTimeout). */
export const KEEP_ALIVE_MS = 60_000;

/** Envoy's default limit on the number of request headers (`max_headers_count`). */
export const MAX_HEADERS_COUNT = 100;

/** Whether a request has more headers than Envoy takes (HTTP/2 pseudo-headers count, as in Envoy's header map). */
export function tooManyHeaders(rawHeaders: readonly string[]): boolean {
  return rawHeaders.length > MAX_HEADERS_COUNT * 2;
}

/** The size of a request's headers as Envoy counts it: names and values. */
function headerBytes(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i++) n += rawHeaders[i]!.length;
  return n;
}

export interface HttpServerHooks {
  /** Counts and logs a request the HTTP/1 parser refused. */
  onProtocolError: (err: NodeJS.ErrnoException, socket: Duplex) => void;
}

/** The protocol a request asks to switch to: its `Upgrade` (lower case) when `upgrade` is among its `Connection` tokens. */
function upgradeType(req: IncomingMessage): string | undefined {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && connectionTokens(req.rawHeaders)?.has('upgrade') ? upgrade.trim().toLowerCase() : undefined;
}

/** Whether a request asks to switch to WebSocket, the one upgrade Istio enables on its waypoint's connection manager. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return upgradeType(req) === 'websocket';
}

/**
 * Whether a request that reached the ordinary request path asks for an upgrade it cannot have: any
 * `Upgrade` but h2c (Envoy drops an h2c upgrade's headers and serves the request as HTTP/1.1, which the
 * removal of hop-by-hop headers already does). WebSocket upgrades are handed over before that path
 * (isHandedOver), except on a Node.js without shouldUpgradeCallback, where they are refused too.
 */
export function isRefusedUpgrade(req: IncomingMessage): boolean {
  const type = upgradeType(req);
  return type !== undefined && type !== 'h2c';
}

/** Requests whose connection this server handed over (WebSocket upgrades and CONNECT). */
const handedOver = new WeakSet<IncomingMessage>();

/** Whether `req` came with its raw connection: a WebSocket upgrade (or CONNECT), its response bound to that connection. */
export function isHandedOver(req: IncomingMessage): boolean {
  return handedOver.has(req);
}

/**
 * The HTTP/1.1 server behind a plain listener or an HBONE tunnel: Envoy's header limits (60 KiB, 100
 * headers), long keep-alive, and Envoy-like answers to requests that cannot be parsed (400, or 431 for
 * headers over a limit).
 *
 * WebSocket upgrades reach `handler` like any request (isHandedOver tells them apart), with a response bound to
 * the raw connection (which closes once a response other than the switch has been sent); the bytes the
 * client sent after the request head are put back on the socket, so the socket carries the whole tunnel.
 * CONNECT requests reach it the same way, to be refused.
 */
export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, hooks: HttpServerHooks): Server {
  // More headers than Envoy takes is a codec error there: 431 and the connection closes, as for headers over 60 KiB.
  const refuseTooMany = (req: IncomingMessage, res: ServerResponse) => {
    hooks.onProtocolError(Object.assign(new Error(`more than ${MAX_HEADERS_COUNT} request headers`), { code: 'HPE_HEADER_OVERFLOW' }), req.socket);
    res.shouldKeepAlive = false;
    res.writeHead(431, 'Request Header Fields Too Large', { server: 'istio-envoy', 'content-length': '0', connection: 'close' });
    res.end();
  };
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: 60_000, requestTimeout: 0, shouldUpgradeCallback: isWebSocketUpgrade },
    (req, res) => (tooManyHeaders(req.rawHeaders) ? refuseTooMany(req, res) : handler(req, res)),
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    hooks.onProtocolError(err, socket);
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nserver: istio-envoy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  });
  const takeOver = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handedOver.add(req);
    socket.pause();
    if (head.length > 0) socket.unshift(head);
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    if (tooManyHeaders(req.rawHeaders)) refuseTooMany(req, res);
    else handler(req, res);
  };
  // Without shouldUpgradeCallback (Node before 22.21 / 24.9) every upgrade would arrive here; there,
  // upgrades stay ordinary requests and are refused as Envoy refuses an upgrade it is not set up for.
  if ('shouldUpgradeCallback' in server) server.on('upgrade', takeOver);
  server.on('connect', takeOver);
  return server;
}

/**
 * The HTTP/2 server for h2c connections (from a plain listener or inside an HBONE tunnel): Envoy's header
 * limit, and CONNECT requests passed to `handler` like any other (to be refused as Envoy refuses them)
 * instead of Node's own 405.
 */
export function createH2cServer(handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void, hooks: HttpServerHooks): Http2Server {
  // Headers over Envoy's limits are a codec error there, which resets the stream (INTERNAL_ERROR); the
  // connection goes on. Node's HTTP/2 server only advertises maxHeaderListSize, so it is checked here.
  const guarded = (req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (!tooManyHeaders(req.rawHeaders) && headerBytes(req.rawHeaders) <= MAX_HEADER_BYTES) return handler(req, res);
    hooks.onProtocolError(Object.assign(new Error('request headers over the limit'), { code: 'HPE_HEADER_OVERFLOW' }), req.socket as Duplex);
    req.stream.close(http2().constants.NGHTTP2_INTERNAL_ERROR);
  };
  const server = http2().createServer({ settings: { maxHeaderListSize: MAX_HEADER_BYTES } }, guarded);
  server.on('connect', guarded);
  // A session's errors end that session only; those of the protocol are counted as the HTTP/1.1 parser's are.
  server.on('sessionError', (err: NodeJS.ErrnoException, session: ServerHttp2Session) => {
    if (err.code !== 'ECONNRESET') hooks.onProtocolError(err, session.socket as Duplex);
  });
  return server;
}

/** How long a new connection on a plain listener may stay silent before it is closed (Node's headersTimeout above). */
export const FIRST_BYTES_TIMEOUT_MS = 60_000;

/** The HTTP/2 side of a plain listener: its open sessions, for drain. */
export interface H2cSessions {
  /** Sends GOAWAY on every session: streams in flight finish, no new ones are taken, each closes when done. */
  closeGracefully(): void;
  /** Closes every session now. */
  destroyAll(): void;
}

/**
 * Lets `server` (from createHttpServer) take HTTP/2 with prior knowledge too, as Envoy's HTTP connection
 * manager does with its codec set to AUTO (Istio's default): the first bytes of each new connection are
 * read, a connection that opens with HTTP/2's preface goes to an HTTP/2 server with the same handler, and
 * any other to the HTTP/1.1 server, with those bytes put back. Only the first read of a connection takes
 * this detour; the HTTP/1.1 parser then reads the socket itself, as it does without it.
 */
export function acceptPriorKnowledgeH2c(
  server: Server,
  handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  hooks: HttpServerHooks,
  firstBytesTimeoutMs = FIRST_BYTES_TIMEOUT_MS,
  /** Serves an HTTP/1.1 connection (paused, its first bytes put back); by default node:http's server, which `toNodeHttp` gives it to. */
  serveHttp1: (socket: Socket, toNodeHttp: (socket: Socket) => void) => void = (socket, toNodeHttp) => toNodeHttp(socket),
): H2cSessions {
  const http1 = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const toNodeHttp = (socket: Socket) => {
    for (const listener of http1) listener.call(server, socket);
    socket.resume();
  };
  const sessions = new Set<ServerHttp2Session>();
  // Made on the first h2c connection, so that a listener only ever spoken to in HTTP/1.1 never loads node:http2.
  let h2: Http2Server | undefined;
  const h2Server = () => {
    if (h2) return h2;
    h2 = createH2cServer(handler, hooks);
    h2.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    return h2;
  };
  server.on('connection', (socket: Socket) => {
    // A client that closes, fails or stays silent before its protocol is known has nothing to be answered.
    const drop = () => socket.destroy();
    socket.once('error', drop);
    socket.once('timeout', drop);
    socket.setTimeout(firstBytesTimeoutMs);
    sniff(
      socket,
      isH2Preface,
      (h2c) => {
        socket.off('error', drop);
        socket.off('timeout', drop);
        socket.setTimeout(0);
        // The HTTP/2 session takes the bytes put back and reads the socket itself from then on; the HTTP/1.1
        // server reads them when the socket flows again.
        if (h2c) return void h2Server().emit('connection', socket);
        serveHttp1(socket, toNodeHttp);
      },
      drop,
    );
  });
  return {
    closeGracefully: () => {
      for (const s of sessions) s.close();
    },
    destroyAll: () => {
      for (const s of sessions) s.destroy();
    },
  };
}
