import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { decimal, isOws, isToken, joined, JOIN_LIMIT, TCHAR, TOKEN_CHARS } from './headers.ts';

/**
 * HTTP/1.1 to upstream endpoints: keep-alive connections, one request at a time on each, driven
 * directly. A request goes out as one write (head and a buffered body together); the response is parsed
 * here (status line, headers, then Content-Length, chunked or close-delimited framing) and handed to the
 * proxy as it arrives, with back-pressure through pause/resume.
 */

/** What the proxy can do with a request in flight. */
export interface UpstreamController {
  /** Stops the request: its connection is closed and the handler gets `onResponseError(reason)`. */
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** Flat [name, value, …], names lower-cased, in the order received (repeated names repeated). */
export type ResponseHeaders = string[];

/** The proxy's side of one upstream request. Events come in this order; an error ends them. */
export interface UpstreamHandler {
  onRequestStart?(controller: UpstreamController): void;
  /** A chunk of a streamed request body, once it is written. */
  onBodySent?(chunk: Buffer): void;
  onResponseStart(controller: UpstreamController, statusCode: number, headers: ResponseHeaders): void;
  /** `last`: the chunk completes the body (onResponseEnd follows at once). */
  onResponseData(controller: UpstreamController, chunk: Buffer, last: boolean): void;
  onResponseEnd(controller: UpstreamController): void;
  onResponseError(controller: UpstreamController, err: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** The request target (origin form). */
  path: string;
  /** Flat [name, value, …]; Host is added when absent. */
  headers: readonly string[];
  /** Nothing, a whole body, or the client's request streamed through. */
  body: Buffer | IncomingMessage | null;
}

export interface Http1PoolOptions {
  /** `ip:port` of the endpoint: the Host sent when the request has none. */
  authority: string;
  /** Opens a connection: TCP, or an HBONE tunnel. */
  open: () => Promise<Duplex>;
  /** Idle connections are closed after this long (Envoy's upstream idle timeout is 1 h; 60 s is kinder to backends). */
  keepAliveMs: number;
}

/** Responses with heads larger than this are refused (Envoy's default header limit is 60 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;
const NO_BODY_METHODS_WITH_LENGTH = new Set(['POST', 'PUT', 'PATCH']);
/** Methods a client may send again after a connection failure (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Header lines as this client writes them: `name: value` CRLF, names tokens, values field-value characters. */
const HEADER_LINES = new RegExp(`^(?:${TCHAR}+: [\\t\\x20-\\x7e\\x80-\\xff]*\\r\\n)*$`);
const REQUEST_TARGET = /^[\x21-\x7e\x80-\xff]+$/;
/** Control characters other than HT, CR and LF. */
const CONTROL_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CHUNKED_HEAD_END = 'transfer-encoding: chunked\r\n\r\n';

function upstreamError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Response body framing. */
const LENGTH = 0;
const CHUNKED = 1;
const UNTIL_CLOSE = 2;
/** Where a chunked body is: a size line, chunk data, the CRLF after data, trailer lines. */
const CHUNK_SIZE = 0;
const CHUNK_DATA = 1;
const CHUNK_DATA_END = 2;
const CHUNK_TRAILERS = 3;

/** Where the line starting at `pos` ends (its CRLF, or the end of the head); -1 when a bare CR or LF comes first. */
function lineEnd(text: string, pos: number): number {
  let eol = text.indexOf('\r\n', pos);
  if (eol < 0) eol = text.length;
  const cr = text.indexOf('\r', pos);
  const lf = text.indexOf('\n', pos);
  if ((cr >= 0 && cr < eol) || (lf >= 0 && lf < eol)) return -1;
  return eol;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** The status code of `HTTP/1.x NNN[ reason]` in text[0, end), or -1 when the line is not one. */
function statusLine(text: string, end: number): number {
  if (end < 12 || !text.startsWith('HTTP/1.', 0) || (text.charCodeAt(7) !== 48 && text.charCodeAt(7) !== 49) || text.charCodeAt(8) !== 32) return -1;
  if (end > 12 && text.charCodeAt(12) !== 32) return -1;
  let code = 0;
  for (let i = 9; i < 12; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    code = code * 10 + d;
  }
  return code >= 100 ? code : -1;
}

/** One exchange on a connection: the request being sent and the response being read. */
class Exchange implements UpstreamController {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  conn: Connection | undefined;
  /** Response bytes have arrived (so a failure is no longer a stale keep-alive connection's). */
  responded = false;
  requestSent = false;
  finished = false;
  paused = false;
  /** Sent once already on a reused connection that turned out closed. */
  resent = false;

  constructor(request: UpstreamRequest, handler: UpstreamHandler) {
    this.request = request;
    this.handler = handler;
  }

  abort(reason: Error): void {
    if (this.finished) return;
    const conn = this.conn;
    this.fail(reason);
    conn?.destroy();
  }

  pause(): void {
    if (this.finished) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    if (this.finished || !this.paused) return;
    this.paused = false;
    this.conn?.socket.resume();
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.conn) this.conn.exchange = undefined;
    this.handler.onResponseError(this, err);
  }
}

/** A keep-alive connection to the endpoint, with the response parser's state. */
class Connection {
  readonly socket: Duplex;
  readonly pool: Http1Pool;
  exchange: Exchange | undefined;
  served = 0;
  /** When it last went back to the pool (by the pool's clock). */
  idleSince = 0;
  closed = false;
  /** Head bytes received so far, while the head is incomplete. */
  pending: Buffer | undefined;
  inBody = false;
  framing = LENGTH;
  remaining = 0;
  chunkState = CHUNK_SIZE;
  /** The response says the connection closes after it (or it is HTTP/1.0 without keep-alive). */
  closeAfter = false;
  /** The exchange whose response the chunk being parsed completed. */
  completed: Exchange | undefined;

  constructor(pool: Http1Pool, socket: Duplex) {
    this.pool = pool;
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err) => this.#onClose(err));
    socket.on('close', () => this.#onClose(undefined));
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.forget(this);
    this.socket.destroy();
  }

  #onEnd(): void {
    const ex = this.exchange;
    if (ex && this.inBody && this.framing === UNTIL_CLOSE) {
      this.#complete(ex);
      this.completed = undefined;
      this.destroy();
      ex.handler.onResponseEnd(ex);
      return;
    }
    this.#onClose(undefined);
  }

  #onClose(err: Error | undefined): void {
    const ex = this.exchange;
    if (!this.closed) {
      this.closed = true;
      this.pool.forget(this);
      this.socket.destroy();
    }
    if (!ex || ex.finished) return;
    this.exchange = undefined;
    if (!ex.responded && this.served > 0 && !ex.resent && IDEMPOTENT.has(ex.request.method) && !(ex.request.body && !Buffer.isBuffer(ex.request.body))) {
      // A reused connection the endpoint had closed, most likely before the request reached it: an
      // idempotent request (RFC 9110 §9.2.2) whose body was not streamed is sent again on a new one.
      ex.resent = true;
      ex.conn = undefined;
      this.pool.start(ex, true);
      return;
    }
    const reason = err ?? upstreamError(ex.responded ? 'upstream closed the connection mid-response' : 'upstream closed the connection', 'UPSTREAM_CLOSED');
    ex.fail(reason);
  }

  #onData(chunk: Buffer): void {
    const ex = this.exchange;
    if (!ex) {
      // Bytes with no request outstanding: the endpoint is not speaking HTTP/1.1 as expected.
      this.destroy();
      return;
    }
    ex.responded = true;
    let offset = 0;
    while (offset < chunk.length && this.exchange === ex && !ex.finished) {
      offset = this.inBody ? this.#body(ex, chunk, offset) : this.#head(ex, chunk, offset);
      if (offset < 0) return;
    }
    const done = this.completed;
    if (!done) return;
    this.completed = undefined;
    // Back to the pool unless the response closes it, the request is still being sent, or bytes follow it.
    if (offset < chunk.length || this.closeAfter || !done.requestSent) this.destroy();
    else this.pool.release(this);
    done.handler.onResponseEnd(done);
  }

  /** Parses a response head; returns the offset after it, or chunk.length while incomplete, or -1 on failure. */
  #head(ex: Exchange, chunk: Buffer, offset: number): number {
    let buf = offset === 0 ? chunk : chunk.subarray(offset);
    const before = this.pending ? this.pending.length : 0;
    if (this.pending) buf = Buffer.concat([this.pending, buf]);
    const end = buf.indexOf(CRLF_CRLF, Math.max(0, before - 3));
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) return this.#protocolError(ex, 'upstream response headers too large');
      this.pending = buf;
      return chunk.length;
    }
    this.pending = undefined;
    if (end > MAX_HEAD_BYTES) return this.#protocolError(ex, 'upstream response headers too large');
    const consumed = offset + end + 4 - before;
    const text = buf.toString('latin1', 0, end);
    // No NUL or other control characters; CR and LF are checked line by line below.
    if (CONTROL_CHARS.test(text)) return this.#protocolError(ex, 'malformed upstream header');
    let eol = lineEnd(text, 0);
    const statusCode = eol < 0 ? -1 : statusLine(text, eol);
    if (statusCode < 0) return this.#protocolError(ex, 'malformed upstream status line');
    const http10 = text.charCodeAt(7) === 48; /* HTTP/1.0 */
    const headers: ResponseHeaders = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connection: string | undefined;
    for (let pos = eol + 2; pos < text.length; pos = eol + 2) {
      eol = lineEnd(text, pos);
      if (eol < 0) return this.#protocolError(ex, 'malformed upstream header');
      // The name: token characters up to the colon (a leading space, i.e. obs-fold, is refused).
      let i = pos;
      let upper = false;
      for (; i < eol; i++) {
        const c = text.charCodeAt(i);
        if (c === 58 /* ':' */) break;
        if (c > 127 || TOKEN_CHARS[c] === 0) return this.#protocolError(ex, 'malformed upstream header');
        if (c >= 65 && c <= 90) upper = true;
      }
      if (i === pos || i === eol) return this.#protocolError(ex, 'malformed upstream header');
      const name = upper ? text.slice(pos, i).toLowerCase() : text.slice(pos, i);
      let vs = i + 1;
      let ve = eol;
      while (vs < ve && isOws(text.charCodeAt(vs))) vs++;
      while (ve > vs && isOws(text.charCodeAt(ve - 1))) ve--;
      const value = text.slice(vs, ve);
      headers.push(name, value);
      if (name === 'content-length') {
        const n = decimal(value);
        if (n < 0 || (contentLength >= 0 && contentLength !== n)) return this.#protocolError(ex, 'invalid upstream content-length');
        contentLength = n;
      } else if (name === 'transfer-encoding') {
        transferEncoding = true;
        chunked = value.toLowerCase().endsWith('chunked');
      } else if (name === 'connection') connection = connection === undefined ? value.toLowerCase() : `${connection},${value.toLowerCase()}`;
    }
    if (statusCode < 200) {
      if (statusCode === 101) return this.#protocolError(ex, 'unexpected upstream protocol upgrade');
      return consumed; // 1xx interim responses are not forwarded; the final response follows
    }
    this.closeAfter = connection !== undefined && connection !== 'keep-alive' && /(^|,)\s*close\s*(,|$)/.test(connection);
    if (http10 && !(connection && /(^|,)\s*keep-alive\s*(,|$)/.test(connection))) this.closeAfter = true;
    const noBody = ex.request.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    if (transferEncoding) {
      // Transfer-Encoding overrides Content-Length, and such a message closes the connection (RFC 9112 §6.3).
      if (contentLength >= 0) this.closeAfter = true;
      this.framing = chunked ? CHUNKED : UNTIL_CLOSE;
      this.chunkState = CHUNK_SIZE;
      this.remaining = 0;
    } else if (contentLength >= 0) {
      this.framing = LENGTH;
      this.remaining = contentLength;
    } else {
      this.framing = UNTIL_CLOSE;
    }
    ex.handler.onResponseStart(ex, statusCode, headers);
    if (ex.finished || this.exchange !== ex) return -1;
    if (noBody || (this.framing === LENGTH && this.remaining === 0)) {
      this.#complete(ex);
      return consumed;
    }
    this.inBody = true;
    return consumed;
  }

  /** Hands on response body bytes; returns the offset after what it used, or -1 on failure. */
  #body(ex: Exchange, chunk: Buffer, offset: number): number {
    if (this.framing === UNTIL_CLOSE) {
      ex.handler.onResponseData(ex, offset === 0 ? chunk : chunk.subarray(offset), false);
      return chunk.length;
    }
    if (this.framing === LENGTH) {
      const take = Math.min(this.remaining, chunk.length - offset);
      this.remaining -= take;
      const done = this.remaining === 0;
      ex.handler.onResponseData(ex, offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take), done);
      if (done && !ex.finished && this.exchange === ex) this.#complete(ex);
      return offset + take;
    }
    return this.#chunked(ex, chunk, offset);
  }

  /** Chunked transfer coding: sizes, data, the CRLF after each chunk, and trailers (read and dropped). */
  #chunked(ex: Exchange, chunk: Buffer, offset: number): number {
    while (offset < chunk.length) {
      if (this.chunkState === CHUNK_DATA) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= take;
        ex.handler.onResponseData(ex, chunk.subarray(offset, offset + take), false);
        if (ex.finished || this.exchange !== ex) return -1;
        offset += take;
        if (this.remaining === 0) this.chunkState = CHUNK_DATA_END;
        continue;
      }
      // Size lines, the CRLF after data and trailer lines are read a line at a time.
      let buf = chunk.subarray(offset);
      const before = this.pending ? this.pending.length : 0;
      if (this.pending) buf = Buffer.concat([this.pending, buf]);
      const eol = buf.indexOf('\r\n', Math.max(0, before - 1));
      if (eol < 0) {
        if (buf.length > 4096) return this.#protocolError(ex, 'malformed upstream chunk');
        this.pending = buf;
        return chunk.length;
      }
      this.pending = undefined;
      const line = buf.toString('latin1', 0, eol);
      offset += eol + 2 - before;
      if (this.chunkState === CHUNK_DATA_END) {
        if (line !== '') return this.#protocolError(ex, 'malformed upstream chunk');
        this.chunkState = CHUNK_SIZE;
      } else if (this.chunkState === CHUNK_SIZE) {
        const m = /^([0-9A-Fa-f]{1,12})[\t ]*(;.*)?$/.exec(line);
        if (!m) return this.#protocolError(ex, 'malformed upstream chunk size');
        this.remaining = parseInt(m[1]!, 16);
        this.chunkState = this.remaining === 0 ? CHUNK_TRAILERS : CHUNK_DATA;
      } else if (line === '') {
        this.#complete(ex);
        return offset;
      }
      // a trailer line: dropped (HTTP/1.1 upstream trailers are not forwarded)
    }
    return offset;
  }

  #protocolError(ex: Exchange, message: string): number {
    ex.fail(upstreamError(message, 'UPSTREAM_PROTOCOL_ERROR'));
    this.destroy();
    return -1;
  }

  /** The response is complete; the caller returns the connection and then tells the handler. */
  #complete(ex: Exchange): void {
    this.inBody = false;
    this.exchange = undefined;
    ex.finished = true;
    this.served++;
    this.completed = ex;
  }
}

/** Keep-alive HTTP/1.1 connections to one endpoint: idle ones are reused most recent first. */
export class Http1Pool {
  readonly #options: Http1PoolOptions;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  #closing = false;
  #destroyed = false;
  /** A coarse clock (ms), advanced by `sweep`; a connection going idle is stamped with it. */
  clock = Date.now();

  constructor(options: Http1PoolOptions) {
    this.#options = options;
  }

  get connections(): number {
    return this.#all.size;
  }

  /** Closed (by `close` or `destroy`): it takes no new requests. */
  get closed(): boolean {
    return this.#closing;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const ex = new Exchange(request, handler);
    handler.onRequestStart?.(ex);
    if (ex.finished) return;
    if (this.#closing) return ex.fail(upstreamError('connection pool closed', 'UPSTREAM_POOL_CLOSED'));
    this.start(ex, false);
  }

  /** Sends the exchange on an idle connection, or a new one. */
  start(ex: Exchange, fresh: boolean): void {
    let conn: Connection | undefined;
    while (!fresh && (conn = this.#idle.pop()) && conn.closed);
    if (conn && !conn.closed) return this.#send(conn, ex);
    this.#options.open().then(
      (socket) => {
        const c = new Connection(this, socket);
        this.#all.add(c);
        if (this.#destroyed) {
          c.destroy();
          return ex.fail(upstreamError('connection pool destroyed', 'UPSTREAM_POOL_DESTROYED'));
        }
        // A request given up while connecting leaves the connection for the next one (closed if the pool is closing).
        if (ex.finished) return this.release(c);
        this.#send(c, ex);
      },
      (err: Error) => ex.fail(err),
    );
  }

  /** A connection that finished its exchange cleanly. */
  release(conn: Connection): void {
    if (conn.closed) return;
    if (this.#closing) return conn.destroy();
    conn.idleSince = this.clock;
    if (conn.socket.isPaused()) conn.socket.resume(); // an idle connection must still see the endpoint close it
    this.#idle.push(conn);
  }

  forget(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #send(conn: Connection, ex: Exchange): void {
    conn.exchange = ex;
    ex.conn = conn;
    const { socket } = conn;
    if (ex.paused) socket.pause();
    else if (socket.isPaused()) socket.resume();
    const { method, path, body } = ex.request;
    let head: string;
    try {
      head = requestHead(method, path, ex.request.headers, this.#options.authority, body);
    } catch (e) {
      conn.exchange = undefined;
      this.release(conn);
      return ex.fail(e as Error);
    }
    if (body === null) {
      socket.write(head, 'latin1');
      ex.requestSent = true;
    } else if (Buffer.isBuffer(body)) {
      if (head.length + body.length <= JOIN_LIMIT) socket.write(joined(head, body));
      else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      ex.requestSent = true;
    } else this.#stream(conn, ex, head, body, head.endsWith(CHUNKED_HEAD_END));
  }

  /** Streams the client's body after the head: as it is when its length is known, else chunked. */
  #stream(conn: Connection, ex: Exchange, head: string, body: IncomingMessage, chunked: boolean): void {
    const { socket } = conn;
    socket.write(head, 'latin1');
    const onData = (chunk: Buffer) => {
      if (conn.closed || conn.exchange !== ex) return cleanup();
      if (chunk.length === 0) return; // an empty chunk would end a chunked body
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else ok = socket.write(chunk);
      ex.handler.onBodySent?.(chunk);
      if (!ok) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    };
    const onEnd = () => {
      cleanup();
      if (chunked && !conn.closed) socket.write('0\r\n\r\n');
      ex.requestSent = true;
    };
    const onAborted = () => {
      cleanup();
      ex.abort(upstreamError('downstream closed before the request body was complete', 'DOWNSTREAM_ABORTED'));
    };
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      socket.off('close', onConnectionClosed);
    };
    const onClose = () => {
      if (!body.readableEnded) onAborted();
    };
    // The connection went away mid-body (the response came first, or a failure): the rest of the body is
    // read and dropped, so that the client's connection can carry its next request.
    const onConnectionClosed = () => {
      cleanup();
      if (!body.readableEnded) body.resume();
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('close', onClose);
    socket.once('close', onConnectionClosed);
    if (body.readableEnded) onEnd();
  }

  /**
   * Advances the clock and closes connections idle past the keep-alive time. A request in flight has no
   * time limit here, as in Istio's waypoint (Envoy's stream idle timeout set to 0): only its route's.
   */
  sweep(now: number): void {
    this.clock = now;
    for (const c of [...this.#idle]) if (now - c.idleSince >= this.#options.keepAliveMs) c.destroy();
  }

  /** Closes idle connections now and the others once their exchange ends; new requests fail. */
  close(): void {
    this.#closing = true;
    for (const c of [...this.#all]) if (!c.exchange) c.destroy();
  }

  destroy(): void {
    this.#closing = true;
    this.#destroyed = true;
    for (const c of [...this.#all]) {
      c.exchange?.abort(upstreamError('connection pool destroyed', 'UPSTREAM_POOL_DESTROYED'));
      c.destroy();
    }
  }
}

/**
 * The request line and headers. Names and values are checked (no CR, LF or NUL can split the request);
 * Host is added when absent; a body's length is declared when known, and POST/PUT/PATCH without a body
 * declare zero, as Node's and undici's clients do.
 */
export function requestHead(method: string, path: string, headers: readonly string[], authority: string, body: Buffer | IncomingMessage | null): string {
  if (!isToken(method)) throw upstreamError(`invalid method ${JSON.stringify(method)}`, 'INVALID_UPSTREAM_REQUEST');
  if (!REQUEST_TARGET.test(path)) throw upstreamError('invalid request path', 'INVALID_UPSTREAM_REQUEST');
  let head = '';
  let host = false;
  let length = false;
  let lines = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name.length === 4 && name.toLowerCase() === 'host') host = true;
    else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (Buffer.isBuffer(body)) continue; // the buffered body's own length is declared below
      if (body === null) continue;
      length = true;
    }
    head += `${name}: ${value}\r\n`;
    lines++;
  }
  // One check for every name and value at once: each line a token, a colon and field-value characters,
  // and exactly one line per header (a CR or LF inside a value would have made more).
  if (!HEADER_LINES.test(head) || countLines(head) !== lines) throw upstreamError(`invalid header in ${JSON.stringify(head.slice(0, 200))}`, 'INVALID_UPSTREAM_REQUEST');
  if (!host) head = `host: ${authority}\r\n${head}`;
  head = `${method} ${path} HTTP/1.1\r\n${head}`;
  if (Buffer.isBuffer(body)) head += `content-length: ${body.length}\r\n`;
  else if (body === null && NO_BODY_METHODS_WITH_LENGTH.has(method)) head += 'content-length: 0\r\n';
  else if (body !== null && !length) return `${head}${CHUNKED_HEAD_END}`; // streamed without a declared length
  return `${head}\r\n`;
}
