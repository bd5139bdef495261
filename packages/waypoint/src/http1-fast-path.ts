import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { decimal, isOws, isToken, joined, JOIN_LIMIT } from './headers.ts';
import { KEEP_ALIVE_MS, MAX_HEADER_BYTES, MAX_HEADERS_COUNT } from './http-server.ts';
import { STATUS_CODES } from './node-http.ts';

/**
 * HTTP/1.1 on a plain listener (and inside HBONE tunnels) without node:http's server, for the requests
 * that make up nearly all traffic: a whole request in hand, nothing unusual. A proxy's cost at a steady rate is
 * mostly node:http's server (bench/results/2026-11-30-node-floor.md); this path reads the head from the
 * socket, hands the proxy a request and a response with the parts of IncomingMessage and ServerResponse
 * it uses, and writes the answer as node:http would, byte for byte.
 *
 * A body of up to 64 KiB declared by Content-Length is taken when it came with its head (a small POST
 * usually does). Anything else is node:http's, so its parser (llhttp) and its answers to bad input stay
 * in force: when a request is not one this path takes (a chunked or longer body, or one still on its
 * way, an upgrade, Expect, HTTP/1.0, a head that is incomplete, over a limit, or not strictly well
 * formed), the connection is handed over to node:http's server for the
 * rest of its life, with the bytes not yet answered put back, between two requests.
 */

/** The methods llhttp knows that carry no body unless Content-Length or Transfer-Encoding says so. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']);

/** Visible ASCII and spaces only: no control characters, no obs-text (node:http takes those). */
function isPlainValue(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
  }
  return true;
}

/** node:http's test of a header value it is asked to send (ERR_INVALID_CHAR otherwise). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Throws node:http's errors for a header it would refuse to send (which would otherwise split the response). */
function checkHeader(name: string, value: string): void {
  if (!isToken(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
  if (INVALID_VALUE.test(value)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
}

/** The request the proxy is handed: the fields of IncomingMessage it reads. Never has a body. */
export class FastRequest {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly complete = true;
  readonly readableEnded = true;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  constructor(method: string, url: string, headers: Record<string, string>, rawHeaders: string[], socket: Socket) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.socket = socket;
  }
  // A request without a body has no events to wait for: the proxy listens for them only when there is one.
  on(): this {
    return this;
  }
  once(): this {
    return this;
  }
}

/**
 * A request whose body (a Content-Length) came with its head: a Readable that yields that body, as an
 * IncomingMessage does, with the same fields as FastRequest.
 */
export class FastBodyRequest extends Readable {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly complete = true;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  constructor(head: FastRequest, body: Buffer) {
    super();
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.rawHeaders = head.rawHeaders;
    this.socket = head.socket;
    this.push(body);
    this.push(null);
  }
  override _read(): void {}
}

/** A `close` token in a (lower-cased) Connection value. */
const CLOSE_TOKEN = /(?:^|,)\s*close\s*(?:,|$)/;

/** The largest body taken with its head; a longer one is node:http's to stream. */
const MAX_BODY_WITH_HEAD = 64 * 1024;

/** A parsed head (and the length of the body that follows it), or undefined when node:http should take it. */
function parseHead(head: string, socket: Socket): { req: FastRequest; close: boolean; bodyLength: number } | undefined {
  const lineEnd = head.indexOf('\r\n');
  const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp1 < 0 || sp2 < 0 || requestLine.length - sp2 !== 9 || !requestLine.endsWith(' HTTP/1.1')) return undefined;
  const method = requestLine.slice(0, sp1);
  if (!METHODS.has(method)) return undefined;
  if (requestLine.charCodeAt(sp1 + 1) !== 47 /* / */) return undefined;
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = requestLine.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return undefined;
  }
  const url = requestLine.slice(sp1 + 1, sp2);
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  let close = false;
  let bodyLength = 0;
  let pos = lineEnd < 0 ? head.length : lineEnd + 2;
  while (pos < head.length) {
    let end = head.indexOf('\r\n', pos);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', pos);
    if (colon < 0 || colon > end || !isToken(head, pos, colon)) return undefined;
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && isOws(head.charCodeAt(vs))) vs++;
    while (ve > vs && isOws(head.charCodeAt(ve - 1))) ve--;
    if (!isPlainValue(head, vs, ve)) return undefined;
    const name = head.slice(pos, colon);
    const value = head.slice(vs, ve);
    const key = name.toLowerCase();
    // A repeated name would need node:http's rules for joining values; those requests are rare.
    if (headers[key] !== undefined || rawHeaders.length === MAX_HEADERS_COUNT * 2) return undefined;
    switch (key) {
      case 'content-length':
        // Digits only (llhttp's own rule), and short: anything else is node:http's to judge.
        if (value.length > 6) return undefined;
        bodyLength = decimal(value);
        if (bodyLength < 0 || bodyLength > MAX_BODY_WITH_HEAD) return undefined;
        break;
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return undefined;
      case 'connection': {
        const tokens = value.toLowerCase();
        if (tokens.includes('upgrade')) return undefined;
        if (CLOSE_TOKEN.test(tokens)) close = true;
        break;
      }
    }
    headers[key] = value;
    rawHeaders.push(name, value);
    pos = end + 2;
  }
  if (headers.host === undefined) return undefined; // node:http answers 400
  return { req: new FastRequest(method, url, headers, rawHeaders, socket), close, bodyLength };
}

let dateAt = 0;
let dateText = '';
/** The Date header node:http sends: the current second, formatted once per second. */
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateText = new Date(dateAt).toUTCString();
  }
  return dateText;
}

/** The response the proxy writes to: the parts of ServerResponse it uses, framed as node:http frames them. */
export class FastResponse extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  statusCode = 200;
  readonly #conn: FastConnection;
  readonly #noBodyMethod: boolean;
  #head: string | undefined;
  #chunked = false;
  #noBody = false;
  #closed = false;
  #trailers = '';

  constructor(conn: FastConnection, method: string) {
    super();
    this.#conn = conn;
    this.#noBodyMethod = method === 'HEAD';
  }

  writeHead(status: number, reasonOrHeaders?: string | readonly string[] | Record<string, string | string[]>, maybeHeaders?: readonly string[] | Record<string, string | string[]>): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : (STATUS_CODES[status] ?? 'unknown');
    const given = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    let flat: readonly string[] = [];
    if (Array.isArray(given)) flat = given as readonly string[];
    else if (given) {
      const pairs: string[] = [];
      for (const [k, v] of Object.entries(given)) for (const one of Array.isArray(v) ? v : [v]) pairs.push(k, one);
      flat = pairs;
    }
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    let hasDate = false;
    let hasLength = false;
    let hasEncoding = false;
    let connection: string | undefined;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!;
      const value = String(flat[i + 1]);
      checkHeader(name, value);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'date') hasDate = true;
          break;
        case 10:
          if (name.toLowerCase() === 'connection') connection = value.toLowerCase();
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') hasLength = true;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') hasEncoding = true;
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
    if (!hasDate) head += `Date: ${httpDate()}\r\n`;
    if (connection === undefined) head += this.#conn.closeAfterResponse ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_SECONDS}\r\n`;
    else if (CLOSE_TOKEN.test(connection)) this.#conn.closeAfterResponse = true;
    this.#noBody = this.#noBodyMethod || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!hasLength && !hasEncoding && !this.#noBody) {
      head += 'Transfer-Encoding: chunked\r\n';
      this.#chunked = true;
    }
    this.statusCode = status;
    this.#head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const socket = this.#conn.socket;
    const ok = this.#send(socket, chunk, false);
    if (!ok) socket.once('drain', () => this.emit('drain'));
    return ok;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded || this.destroyed) return this;
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableEnded = true;
    this.#send(this.#conn.socket, chunk, true, (err) => {
      // A write that failed means the connection is gone: its close tells the proxy, unfinished.
      if (this.#closed || err) return;
      this.writableFinished = true;
      this.emit('finish');
      this.#close();
    });
    return this;
  }

  /** Trailers, sent after the last chunk of a chunked response (and dropped otherwise), as node:http does. */
  addTrailers(headers: Record<string, string>): void {
    for (const [name, value] of Object.entries(headers)) {
      checkHeader(name, value);
      this.#trailers += `${name}: ${value}\r\n`;
    }
  }

  /** Resets the client's connection (a response cut off mid-body). */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#conn.socket.destroy();
    return this;
  }

  /** The connection closed before the response was complete. */
  aborted(): void {
    this.destroyed = true;
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
    this.#conn.responded(this);
  }

  /** Head (if not yet written) and `chunk`, framed, in one write. */
  #send(socket: Socket, chunk: Buffer | string | undefined, last: boolean, done?: (err?: Error | null) => void): boolean {
    const head = this.#head;
    this.#head = undefined;
    const body = this.#noBody || chunk === undefined || chunk.length === 0 ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.#chunked) {
      if (body === undefined) return socket.write(head ?? '', 'latin1', done);
      if (head === undefined) return socket.write(body, done);
      if (head.length + body.length <= JOIN_LIMIT) return socket.write(joined(head, body), done);
      socket.cork();
      socket.write(head, 'latin1');
      const ok = socket.write(body, done);
      socket.uncork();
      return ok;
    }
    let prefix = head ?? '';
    if (body !== undefined) prefix += `${body.length.toString(16)}\r\n`;
    const end = `0\r\n${this.#trailers}\r\n`;
    const suffix = body === undefined ? (last ? end : '') : last ? `\r\n${end}` : '\r\n';
    if (body === undefined) return socket.write(prefix + suffix, 'latin1', done);
    if (prefix.length + body.length + suffix.length <= JOIN_LIMIT) return socket.write(joined(prefix, body, suffix), done);
    socket.cork();
    socket.write(prefix, 'latin1');
    socket.write(body);
    const ok = socket.write(suffix, 'latin1', done);
    socket.uncork();
    return ok;
  }
}

const KEEP_ALIVE_SECONDS = KEEP_ALIVE_MS / 1000;

/** What a fast-path connection is carried by. */
export interface FastPathTransport {
  /**
   * An HTTP/2 stream (an HBONE tunnel) rather than a TCP socket: it lives as long as its tunnel, with no
   * idle timeout, as node:http's server has none over it either.
   */
  http2Stream?: boolean;
}

/** One client connection on the fast path. */
class FastConnection {
  readonly socket: Socket;
  closeAfterResponse = false;
  /** Whether the connection closes after the keep-alive time idle (TCP), or lives as long as its tunnel. */
  readonly #idleTimeout: boolean;
  #pending: Buffer | undefined;
  #inFlight: FastResponse | undefined;
  #handedOver = false;
  readonly #listener: FastPathListener;
  readonly #toNodeHttp: (socket: Socket) => void;
  readonly #handler: (req: FastRequest | FastBodyRequest, res: FastResponse) => void;

  constructor(
    socket: Socket,
    listener: FastPathListener,
    toNodeHttp: (socket: Socket) => void,
    handler: (req: FastRequest | FastBodyRequest, res: FastResponse) => void,
    transport: FastPathTransport,
  ) {
    this.socket = socket;
    this.#idleTimeout = transport.http2Stream !== true;
    this.#listener = listener;
    this.#toNodeHttp = toNodeHttp;
    this.#handler = handler;
    if (this.#idleTimeout) socket.setTimeout(KEEP_ALIVE_MS);
    socket.on('timeout', this.#onTimeout);
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.once('end', this.#onEnd);
    socket.once('close', this.#onClose);
    socket.resume();
  }

  get idle(): boolean {
    return this.#inFlight === undefined && this.#pending === undefined;
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#pending = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    if (this.#inFlight) {
      // A pipelined request waits for the answer before it; the client waits too once this much is queued.
      if (this.#pending.length > MAX_HEADER_BYTES) this.socket.pause();
      return;
    }
    this.#next();
  };

  readonly #onTimeout = (): void => {
    // Idle for the keep-alive timeout. A request waiting for its answer has no time limit here.
    if (!this.#inFlight) this.socket.destroy();
  };

  readonly #onError = (): void => {
    this.socket.destroy();
  };

  /**
   * The client has finished sending. As node:http's server does (without httpAllowHalfOpen), the
   * connection is ended: what is queued is flushed, and an answer still being made is cut off.
   */
  readonly #onEnd = (): void => {
    this.socket.end();
  };

  readonly #onClose = (): void => {
    this.#listener.connections.delete(this);
    this.#inFlight?.aborted();
  };

  /** Serves the next request in hand, or hands the connection over. */
  #next(): void {
    const buf = this.#pending;
    if (!buf || this.#handedOver || this.socket.destroyed) return;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || end + 4 > MAX_HEADER_BYTES) return this.#handOver();
    const parsed = parseHead(buf.toString('latin1', 0, end), this.socket);
    // A body still on its way is node:http's to stream, with its flow control and limits.
    const bodyEnd = end + 4 + (parsed?.bodyLength ?? 0);
    if (!parsed || bodyEnd > buf.length) return this.#handOver();
    const req = parsed.bodyLength === 0 ? parsed.req : new FastBodyRequest(parsed.req, buf.subarray(end + 4, bodyEnd));
    this.#pending = bodyEnd === buf.length ? undefined : buf.subarray(bodyEnd);
    if (parsed.close || this.#listener.draining) this.closeAfterResponse = true;
    const res = new FastResponse(this, req.method);
    this.#inFlight = res;
    try {
      this.#handler(req, res);
    } catch (e) {
      // A handler's bug ends this connection only: it is reported, and the process goes on serving.
      this.socket.destroy();
      this.#listener.onError(e as Error);
    }
  }

  /** Called once per response, when it is complete or its connection has gone. */
  responded(res: FastResponse): void {
    if (this.#inFlight !== res) return;
    this.#inFlight = undefined;
    if (this.socket.destroyed) return;
    if (this.closeAfterResponse || this.#listener.draining) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.#next();
  }

  /** node:http's server takes the connection from here, starting with the bytes not yet answered. */
  #handOver(): void {
    this.#handedOver = true;
    this.#listener.connections.delete(this);
    const { socket } = this;
    socket.off('data', this.#onData);
    socket.off('timeout', this.#onTimeout);
    socket.off('error', this.#onError);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    if (this.#idleTimeout) socket.setTimeout(0);
    socket.pause();
    if (this.#pending) socket.unshift(this.#pending);
    this.#pending = undefined;
    this.#toNodeHttp(socket);
  }

  /** Closes the connection now if no request is being answered; else after the answer. */
  closeIfIdle(): void {
    if (this.#inFlight === undefined) this.socket.end();
    else this.closeAfterResponse = true;
  }
}

/** The fast path's connections (of a plain listener, or of the HBONE tunnels), for drain. */
export class FastPathListener {
  readonly connections = new Set<FastConnection>();
  draining = false;
  /** Told of an error a handler threw; that request's connection is closed. */
  readonly onError: (err: Error) => void;

  constructor(onError: (err: Error) => void) {
    this.onError = onError;
  }

  /**
   * Serves `socket` (paused, with any bytes read so far put back) with `handler`; `toNodeHttp` gives it
   * to node:http's server (paused, its unread bytes put back) when a request is not one this path takes.
   */
  serve(
    socket: Socket,
    toNodeHttp: (socket: Socket) => void,
    handler: (req: FastRequest | FastBodyRequest, res: FastResponse) => void,
    transport: FastPathTransport = {},
  ): void {
    this.connections.add(new FastConnection(socket, this, toNodeHttp, handler, transport));
  }

  /** Drain: idle connections close now, busy ones after their answer (which says `connection: close`). */
  closeGracefully(): void {
    this.draining = true;
    for (const c of this.connections) c.closeIfIdle();
  }

  destroyAll(): void {
    for (const c of this.connections) c.socket.destroy();
  }
}
