/**
 * The upstream HTTP/1.1 client alone: requests dispatched on one kept-alive connection whose socket is an
 * in-memory Duplex (no system calls), each answered at once by a typical nginx response head and 1 KB
 * body. Measures the client's own cost per request: writing the head, parsing the response, the callbacks.
 *   node bench/upstream-h1.ts [--requests 200000] [--rounds 7]
 * Prints the time per request of each round and the median.
 */
import { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { Http1Pool } from '../packages/waypoint/src/upstream-h1.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '7' } } });
const REQUESTS = Number(values.requests);

class MemorySocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: unknown, callback: () => void): void {
    callback();
  }
}

const socket = new MemorySocket();
const pool = new Http1Pool({ authority: '127.0.0.1:8080', open: async () => socket, keepAliveMs: 60_000 });
const response = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 08:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\nConnection: keep-alive\r\n\r\n' +
    'x'.repeat(1024),
  'latin1',
);
const headers = ['host', 'bench.default', 'user-agent', 'wrk', 'accept', '*/*', 'x-request-id', '3b1c0e4e-8a2f-4c61-9d7e-1b2c3d4e5f60', 'x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http'];
let completed = 0;
const handler = {
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {
    completed++;
  },
  onResponseError(_c: unknown, err: Error) {
    throw err;
  },
};

// The first request opens the connection; every later one reuses it.
pool.dispatch({ method: 'GET', path: '/1k', headers, body: null }, handler);
await new Promise((r) => setTimeout(r, 10));
socket.emit('data', response);

const perRequest: number[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) {
    pool.dispatch({ method: 'GET', path: '/1k', headers, body: null }, handler);
    socket.emit('data', response);
  }
  perRequest.push(Number(process.hrtime.bigint() - start) / REQUESTS);
  console.log(`round ${round + 1}: ${(perRequest.at(-1)! / 1000).toFixed(2)} µs per request`);
}
if (completed !== 1 + REQUESTS * perRequest.length) throw new Error(`${completed} responses completed`);
const sorted = [...perRequest].sort((a, b) => a - b);
console.log(`median: ${(sorted[sorted.length >> 1]! / 1000).toFixed(2)} µs per request (${REQUESTS} requests per round)`);
