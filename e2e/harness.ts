/**
 * Black-box harness: starts bin/waypoint as a real process on loopback, with real backend servers.
 * Nothing is mocked; every listener binds port 0 and the harness reads the bound ports from the logs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request, type Dispatcher } from 'undici';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WAYPOINT = join(ROOT, 'bin', 'waypoint');

export interface Backend {
  name: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** An echo backend: JSON with its name, method, url, headers and received body size. */
export async function startBackend(name: string, handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Backend> {
  const server = createServer(
    handler ??
      ((req, res) => {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, connection: 'keep-alive, x-hop', 'x-hop': 'drop-me' });
          res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes }));
        });
      }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A Service with one port (80, named http; `appProtocol` when given) and an EndpointSlice listing `endpoints` as ip:port. */
export function serviceYaml(name: string, endpoints: { ip?: string; port: number; ready?: boolean }[], clusterIP?: string, appProtocol?: string): string {
  const ports = [...new Set(endpoints.map((e) => e.port))];
  const slices = ports.length
    ? ports.map(
        (p, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${i}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${p} }]
endpoints:
${endpoints
  .filter((e) => e.port === p)
  .map((e) => `  - { addresses: ["${e.ip ?? '127.0.0.1'}"], conditions: { ready: ${e.ready ?? true} } }`)
  .join('\n')}
`,
      )
    : [];
  return `---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  ${clusterIP ? `clusterIP: ${clusterIP}` : ''}
  ports: [{ name: http, port: 80, targetPort: 8080${appProtocol ? `, appProtocol: ${appProtocol}` : ''} }]
${slices.join('')}`;
}

export function meshRoute(name: string, service: string, rules: string): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ group: "", kind: Service, name: ${service} }]
  rules: ${rules}
`;
}

export class ConfigDir {
  readonly path = mkdtempSync(join(tmpdir(), 'waypoint-e2e-'));
  write(file: string, text: string): string {
    const p = join(this.path, file);
    writeFileSync(p, text);
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class WaypointProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderrRaw = '';
  httpPort = 0;
  adminPort = 0;
  hbonePort = 0;
  readonly exited: Promise<number | null>;
  #waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(WAYPOINT, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderrRaw += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) {
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'raw', msg: text };
        }
        this.logs.push(line);
        if (line.msg?.includes(' listening on ')) {
          const port = Number(String(line.address).split(':').pop());
          if (String(line.listener).startsWith('http ')) this.httpPort = port;
          if (line.listener === 'admin') this.adminPort = port;
          if (line.listener === 'hbone') this.hbonePort = port;
        }
        this.#waiters = this.#waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
  }

  /** Resolves with the first log line (past or future) that passes `test`; rejects after `ms`. */
  waitForLog(test: (l: LogLine) => boolean, ms = 10_000): Promise<LogLine> {
    const seen = this.logs.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; logs:\n${this.stderrRaw}`)), ms);
      this.#waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  get base(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get admin(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Starts the waypoint on a config dir and waits until its first config is serving. */
export async function startWaypoint(configPath: string, extra: string[] = [], env: Record<string, string> = {}): Promise<WaypointProcess> {
  const wp = new WaypointProcess([
    'run',
    '--config',
    configPath,
    '--http-listen',
    '127.0.0.1:0=80',
    '--admin',
    '127.0.0.1:0',
    '--stats',
    'off',
    '--health',
    'off',
    '--upstream',
    'plain',
    '--hbone-listen',
    'off',
    ...extra,
  ], env);
  try {
    await wp.waitForLog((l) => String(l.listener ?? '').startsWith('http ') && l.msg.includes('listening'), 20_000);
  } catch (e) {
    await wp.stop();
    throw e;
  }
  return wp;
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP/1.1 request through undici (which, unlike fetch, lets a test set Host). */
export async function send(
  url: string,
  init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, dispatcher: agent });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const agent = new Agent({ keepAliveTimeout: 1000 });

export function json(r: SimpleResponse): { backend: string; url: string; method: string; headers: Record<string, string>; bodyBytes: number } {
  try {
    return JSON.parse(r.body);
  } catch {
    throw new Error(`not JSON (status ${r.status}): ${r.body.slice(0, 200)}`);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true or `ms` passes; returns whether it became true. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 5000, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(every);
  }
  return false;
}

/** Sends raw bytes on a fresh connection and returns everything the server sends until it closes or `ms` pass. */
export function rawExchange(port: number, data: string | Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const finish = () => (clearTimeout(timer), socket.destroy(), resolve(out));
    const timer = setTimeout(finish, ms);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (out += d));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(data);
  });
}

/** Python with Debian's python3-h2 (an HTTP/2 stack independent of Node's), for interop tests. */
export const PYTHON = '/usr/bin/python3';

/** `bin/waypoint certs` into `dir`; returns the file paths of each identity's certificate set. */
export function makeCerts(dir: string, args: string[]): void {
  const r = spawnSync(WAYPOINT, ['certs', '--out', dir, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`waypoint certs failed: ${r.stderr}${r.stdout}`);
}

export function certFiles(dir: string, namespace: string, serviceAccount: string): { cert: string; key: string; ca: string } {
  const base = join(dir, namespace, serviceAccount);
  return { cert: join(base, 'cert-chain.pem'), key: join(base, 'key.pem'), ca: join(base, 'root-cert.pem') };
}

/** Starts `bin/waypoint run` with the admin API on a free port, JSON access logs and `args`, and waits until `ready`. */
export async function startProcess(args: string[], ready: (p: WaypointProcess) => boolean): Promise<WaypointProcess> {
  const p = new WaypointProcess(['run', '--admin', '127.0.0.1:0', '--stats', 'off', '--health', 'off', '--access-log', 'json', ...args]);
  await p.waitForLog(() => ready(p), 20_000).catch(async (e) => {
    await p.stop();
    throw e;
  });
  return p;
}

/** A Node HTTP/2 session to a waypoint's HBONE port, as a client ztunnel would hold, with `files` as its identity. */
export function hboneSession(port: number, files: { cert: string; key: string; ca: string }): ClientHttp2Session {
  return h2connect(`https://127.0.0.1:${port}`, {
    ca: readFileSync(files.ca),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    servername: '',
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.3',
  });
}

/** An HBONE tunnel (CONNECT) to `authority` on `session`; throws unless the waypoint answers 200. */
export async function openTunnel(session: ClientHttp2Session, authority: string): Promise<ClientHttp2Stream> {
  const stream = session.request({ ':method': 'CONNECT', ':authority': authority });
  const [headers] = await once(stream, 'response');
  if (headers[':status'] !== 200) throw new Error(`CONNECT ${authority}: ${headers[':status']}`);
  return stream;
}

/** A loopback port nobody listens on: bound, read and closed again. */
export async function unusedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** The first JSON access-log line of `wp` for `path`, waiting up to 2 s for the batched log to be written. */
export async function accessLogFor(wp: WaypointProcess, path: string): Promise<Record<string, unknown>> {
  const needle = `"path":"${path}"`;
  for (let i = 0; i < 100 && !wp.stdout.includes(needle); i++) await sleep(20);
  return JSON.parse(wp.stdout.split('\n').find((l) => l.includes(needle))!);
}

