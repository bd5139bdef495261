import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Envoy's default limit on request headers is 60 KiB. */
export const MAX_HEADER_BYTES = 60 * 1024;

export interface HttpServerHooks {
  /** Counts and logs a request the HTTP/1 parser refused. */
  onProtocolError: (err: NodeJS.ErrnoException, socket: Duplex) => void;
}

/**
 * The HTTP/1.1 server behind a plain listener or an HBONE tunnel: Envoy's header limit, long keep-alive,
 * and Envoy-like answers to requests that cannot be parsed (400, or 431 for oversized headers).
 */
export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, hooks: HttpServerHooks): Server {
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, keepAliveTimeout: 60_000, headersTimeout: 60_000, requestTimeout: 0 }, handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    hooks.onProtocolError(err, socket);
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nserver: istio-envoy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  });
  return server;
}
