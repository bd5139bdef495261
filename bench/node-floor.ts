/**
 * What Node.js itself costs per request on this machine, below any proxy's features: three minimal
 * programs that put the benchmark's load through one Node.js process. Not proxies anyone should run:
 * they take only bodiless requests, answers framed by Content-Length, and one request at a time per
 * connection, which is what the benchmark sends.
 *   node bench/node-floor.ts relay|raw-http|http-server LISTEN_PORT UPSTREAM_PORT
 *
 * - relay:       a TCP relay; each client connection gets a backend connection of its own and the bytes
 *                are passed both ways unread. The floor of any Node.js program that moves these bytes.
 * - raw-http:    reads each request head from the socket, adds x-forwarded-for and x-request-id, writes
 *                it to the connection's backend socket, and passes on the answer once its Content-Length
 *                has arrived: two reads and two writes per request, as a proxy makes.
 * - http-server: the same upstream side, with node:http's server on the client side (IncomingMessage,
 *                ServerResponse, writeHead): what that server adds to raw-http.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect, createServer, type Socket } from 'node:net';

const [mode, listen, upstream] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];

function backendConnection(): Socket {
  const socket = connect({ port: upstream, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => socket.destroy());
  return socket;
}

/** Calls `onAnswer(head, whole)` for each complete answer the backend sends on `socket`. */
function readAnswers(socket: Socket, onAnswer: (head: string, whole: Buffer, bodyStart: number) => void): void {
  let buffered: Buffer | undefined;
  let need = -1;
  let bodyStart = 0;
  let head = '';
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
    if (need < 0) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buffered.toString('latin1', 0, end);
      bodyStart = end + 4;
      need = bodyStart + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    }
    if (buffered.length < need) return;
    const whole = buffered;
    buffered = undefined;
    need = -1;
    onAnswer(head, whole, bodyStart);
  });
}

function relay(): void {
  createServer({ noDelay: true }, (client) => {
    const backend = backendConnection();
    client.on('data', (d: Buffer) => backend.write(d));
    backend.on('data', (d: Buffer) => client.write(d));
    client.on('error', () => client.destroy());
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
  }).listen(listen, '127.0.0.1');
}

/** The request head as forwarded: as received, plus x-forwarded-for and x-request-id. */
const forwardedHead = (head: string, peer: string | undefined) => `${head}\r\nx-forwarded-for: ${peer}\r\nx-request-id: ${randomUUID()}\r\n\r\n`;

function rawHttp(): void {
  createServer({ noDelay: true }, (client) => {
    let backend: Socket | undefined;
    let buffered: Buffer | undefined;
    client.on('data', (chunk: Buffer) => {
      buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.toString('latin1', 0, end);
      buffered = undefined;
      if (!backend) {
        backend = backendConnection();
        readAnswers(backend, (_head, whole) => client.write(whole));
        backend.on('close', () => client.destroy());
      }
      backend.write(forwardedHead(head, client.remoteAddress), 'latin1');
    });
    client.on('error', () => client.destroy());
    client.on('close', () => backend?.destroy());
  }).listen(listen, '127.0.0.1');
}

function httpServer(): void {
  // Loaded with require: an ESM import of node:http also loads Node's fetch and WebSocket (see docs/operations.md).
  const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
  type Backend = { socket: Socket; respond?: (head: string, whole: Buffer, bodyStart: number) => void };
  const backends = new WeakMap<Socket, Backend>();
  http
    .createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      let backend = backends.get(req.socket);
      if (!backend) {
        const b: Backend = { socket: backendConnection() };
        readAnswers(b.socket, (head, whole, bodyStart) => b.respond?.(head, whole, bodyStart));
        req.socket.once('close', () => b.socket.destroy());
        backends.set(req.socket, b);
        backend = b;
      }
      backend.respond = (head, whole, bodyStart) => {
        const lines = head.split('\r\n');
        const headers: string[] = [];
        for (let i = 1; i < lines.length; i++) {
          const colon = lines[i]!.indexOf(':');
          headers.push(lines[i]!.slice(0, colon), lines[i]!.slice(colon + 1).trim());
        }
        res.writeHead(Number(lines[0]!.slice(9, 12)), headers);
        res.end(whole.subarray(bodyStart));
      };
      let head = `${req.method} ${req.url} HTTP/1.1`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) head += `\r\n${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`;
      backend.socket.write(forwardedHead(head, req.socket.remoteAddress), 'latin1');
    })
    .listen(listen, '127.0.0.1');
}

if (mode === 'relay') relay();
else if (mode === 'raw-http') rawHttp();
else if (mode === 'http-server') httpServer();
else throw new Error(`unknown mode ${mode}: relay, raw-http or http-server`);
