/**
 * A fixed-rate HTTP/1.1 load generator for latency and cost at a steady rate.
 *   even:  request k leaves at t0 + k/rate on connection k mod C (one request per millisecond at 1000/s)
 *   burst: every C/rate seconds, all C connections send at once (the same average rate)
 * Latency is measured per request from the moment it is written to the end of its response.
 * `--requests FILE` (a JSON array of whole HTTP/1.1 requests) sends those in turn instead of one GET.
 * Prints one JSON line: { sent, ok, errors, p50, p90, p99, max } (milliseconds).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    host: { type: 'string', default: 'bench' },
    path: { type: 'string', default: '/1k' },
    rate: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'even' },
    requests: { type: 'string' },
  },
});
const [host, portText] = values.target!.split(':');
const rate = Number(values.rate);
const conns = Number(values.connections);
const durationMs = Number(values.duration) * 1000;
const requests: Buffer[] = values.requests
  ? (JSON.parse(readFileSync(values.requests, 'latin1')) as string[]).map((r) => Buffer.from(r, 'latin1'))
  : [Buffer.from(`GET ${values.path} HTTP/1.1\r\nHost: ${values.host}\r\nUser-Agent: waypoint-bench\r\n\r\n`)];
let next = 0;

interface Conn {
  socket: Socket;
  busy: boolean;
  queued: number;
  sentAt: bigint;
  buf: Buffer;
}

const latencies: number[] = [];
let sent = 0;
let errors = 0;
let non2xx = 0;

function onResponse(c: Conn, status: number): void {
  latencies.push(Number(process.hrtime.bigint() - c.sentAt) / 1e6);
  if (status < 200 || status >= 300) non2xx++;
  c.busy = false;
  if (c.queued > 0) {
    c.queued--;
    send(c);
  }
}

function parse(c: Conn): void {
  for (;;) {
    const end = c.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = c.buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      // chunked: wait for the terminating chunk
      const term = c.buf.indexOf('\r\n0\r\n\r\n', end);
      if (term < 0) return;
      c.buf = c.buf.subarray(term + 7);
      onResponse(c, status);
      continue;
    }
    const total = end + 4 + Number(m[1]);
    if (c.buf.length < total) return;
    c.buf = c.buf.subarray(total);
    onResponse(c, status);
  }
}

function send(c: Conn): void {
  if (c.busy) {
    c.queued++;
    return;
  }
  c.busy = true;
  sent++;
  c.sentAt = process.hrtime.bigint();
  c.socket.write(requests[next]!);
  next = next + 1 === requests.length ? 0 : next + 1;
}

async function open(): Promise<Conn> {
  const socket = connect({ host: host!, port: Number(portText), noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const c: Conn = { socket, busy: false, queued: 0, sentAt: 0n, buf: Buffer.alloc(0) };
  socket.on('data', (d: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    parse(c);
  });
  socket.on('error', () => errors++);
  return c;
}

const pool = await Promise.all(Array.from({ length: conns }, open));
// Warm every connection once, so connection set-up is not measured.
for (const c of pool) send(c);
while (pool.some((c) => c.busy)) await new Promise((r) => setTimeout(r, 5));
latencies.length = 0;
sent = 0;

const start = performance.now();
const interval = 1000 / rate;
let k = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now() - start;
    if (now >= durationMs) return resolve();
    if (values.mode === 'burst') {
      const period = interval * conns;
      while (k * period <= now) {
        for (const c of pool) send(c);
        k++;
      }
      setTimeout(tick, Math.max(0, k * period - (performance.now() - start)));
    } else {
      while (k * interval <= now) send(pool[k++ % conns]!);
      setTimeout(tick, Math.max(0, k * interval - (performance.now() - start) - 0.2));
    }
  };
  tick();
});
const deadline = Date.now() + 5000;
while (pool.some((c) => c.busy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
for (const c of pool) c.socket.destroy();

latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
const round = (x: number) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({ sent, ok: latencies.length - non2xx, non2xx, errors, p50: round(q(0.5)), p90: round(q(0.9)), p99: round(q(0.99)), max: round(latencies.at(-1) ?? NaN), seconds: durationMs / 1000 }),
);
