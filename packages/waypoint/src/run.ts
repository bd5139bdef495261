import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { formatDiagnostic } from '@waypoint/config';
import { AccessLog } from './access-log.ts';
import { adminHandler } from './admin.ts';
import type { RunOptions } from './cli.ts';
import { ConfigWatcher } from './config-watch.ts';
import { formatAddress, type ListenAddress } from './listen-address.ts';
import { createLogger, type Logger } from './logger.ts';
import { Proxy } from './proxy.ts';
import { ServerState } from './server-state.ts';
import { SnapshotStore } from './snapshot.ts';
import { Stats } from './stats.ts';
import { endpointKey, UpstreamPools } from './upstream-pools.ts';
import { VERSION } from './version.ts';

/** Envoy's default limit on request headers is 60 KiB. */
const MAX_HEADER_BYTES = 60 * 1024;

/** The waypoint process: config, listeners, admin, reload and drain. Resolves when the process should exit. */
export async function run(options: RunOptions, argv: string[]): Promise<number> {
  const log = createLogger(options.logLevel);
  const stats = new Stats();
  const state = new ServerState();
  const store = new SnapshotStore(options.configPaths, options.namespace);
  const pools = new UpstreamPools({ connectTimeoutMs: 10_000 });
  const accessLog = options.accessLog === 'off' ? undefined : new AccessLog(options.accessLog, (chunk) => process.stdout.write(chunk));
  const startedAt = new Date();
  let draining = false;

  for (const flag of ['cert', 'key', 'ca'] as const) {
    if (options[flag]) log.warn({ flag }, `--${flag} is only used by HBONE, which is not supported yet; ignored`);
  }

  const serverState = stats.gauge('server.state');
  const workersStarted = stats.gauge('listener_manager.workers_started');
  const ldsSuccess = stats.counter('listener_manager.lds.update_success');
  const ldsRejected = stats.counter('listener_manager.lds.update_rejected');
  const cdsSuccess = stats.counter('cluster_manager.cds.update_success');
  const cdsRejected = stats.counter('cluster_manager.cds.update_rejected');
  const cxActive = stats.gauge('listener.downstream_cx_active');
  const protocolErrors = stats.counter('http.inbound.downstream_cx_protocol_error');
  const setState = (name: ServerState['name']) => {
    state.name = name;
    serverState.set(state.number);
  };
  setState('INITIALIZING');

  const proxy = new Proxy({
    store,
    pools,
    stats,
    accessLog,
    draining: () => draining,
    onError: (err, context) => log.error({ err, context }, `internal error in ${context}: ${err.message}`),
  });

  const reload = (reason: string): boolean => {
    const outcome = store.load();
    if (!outcome.ok) {
      ldsRejected.inc();
      cdsRejected.inc();
      const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
      log.error(
        { reason, errors: errors.map(formatDiagnostic) },
        `config rejected (${errors.length} error${errors.length === 1 ? '' : 's'}); ${store.current ? `version ${store.current.version} stays in force` : 'nothing is served until a valid config appears'}:\n  ${errors.map(formatDiagnostic).join('\n  ')}`,
      );
      return false;
    }
    if (outcome.unchanged) return true;
    ldsSuccess.inc();
    cdsSuccess.inc();
    const snap = outcome.snapshot;
    for (const w of snap.warnings) log.warn(formatDiagnostic(w));
    const keep = new Set(snap.ir.services.flatMap((s) => s.ports.flatMap((p) => p.endpoints.map((e) => endpointKey(e.address, e.port)))));
    pools.retain(keep);
    log.info(
      { reason, version: snap.version, services: snap.ir.services.length, httpRoutes: snap.ir.httpRoutes.length, gateways: snap.ir.gateways.length },
      `config version ${snap.version} in force`,
    );
    return true;
  };

  const listen = async (name: string, address: ListenAddress, server: Server): Promise<Server> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err, listener: name }, `listener ${name} failed: ${err.message}`));
    log.info({ listener: name, address: formatAddress(server.address() as AddressInfo) }, `${name} listening on ${formatAddress(server.address() as AddressInfo)}`);
    return server;
  };

  const plainServers: Server[] = [];
  const adminServers: Server[] = [];
  let quitResolve: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (quitResolve = resolve));

  const shutdown = async (graceful: boolean, why: string): Promise<void> => {
    if (draining) return;
    draining = true;
    setState('DRAINING');
    log.info({ why, drainSeconds: graceful ? options.drainTime : 0 }, `draining: ${why}`);
    watcher?.close();
    const closed = Promise.all(plainServers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of plainServers) s.closeIdleConnections();
    const deadline = new Promise<void>((r) => setTimeout(r, graceful ? options.drainTime * 1000 : 0).unref());
    await Promise.race([closed, deadline]);
    for (const s of plainServers) s.closeAllConnections();
    accessLog?.flush();
    await pools.close();
    for (const s of adminServers) s.closeAllConnections(), s.close();
    log.info('exiting');
    quitResolve(0);
  };

  const admin = adminHandler({
    store,
    stats,
    state,
    version: VERSION,
    commandLine: argv,
    startedAt,
    quit: () => void shutdown(false, 'POST /quitquitquit'),
    drain: () => void shutdown(true, 'POST /drain_listeners'),
  });

  const startPlainListeners = async () => {
    for (const spec of options.httpListen) {
      const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, keepAliveTimeout: 60_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) =>
        proxy.handle(req, res, { gatewayPort: spec.gatewayPort, proto: 'http' }),
      );
      server.on('connection', (socket: Socket) => {
        cxActive.inc();
        socket.once('close', () => cxActive.dec());
      });
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
        protocolErrors.inc();
        log.debug({ code: err.code }, `bad request from ${socket.remoteAddress}: ${err.message}`);
        if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nserver: istio-envoy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      });
      plainServers.push(await listen(`http ${formatAddress(spec.address)} (Gateway port ${spec.gatewayPort})`, spec.address, server));
    }
    workersStarted.set(1);
  };

  // Admin, readiness and stats come up first, so a failing first config can be seen from outside.
  const routes: [string, ListenAddress | undefined, (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void][] = [
    ['admin', options.admin, admin],
    [
      'health',
      options.health,
      (req, res) => {
        const ok = req.url?.split('?')[0] === '/healthz/ready' && state.ready;
        const body = req.url?.split('?')[0] === '/healthz/ready' ? (ok ? '' : `${state.name}\n`) : 'not found\n';
        res.writeHead(ok ? 200 : req.url?.startsWith('/healthz/ready') ? 503 : 404, { 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    ],
    [
      'stats',
      options.stats,
      (req, res) => {
        if (req.url?.split('?')[0] !== '/stats/prometheus') return void (res.writeHead(404), res.end());
        const body = stats.prometheus();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    ],
  ];
  try {
    for (const [name, address, handler] of routes) if (address) adminServers.push(await listen(name, address, createServer(handler)));
  } catch (e) {
    log.fatal(`cannot listen: ${(e as Error).message}`);
    return 1;
  }

  let watcher: ConfigWatcher | undefined;
  const onChange = () => {
    if (draining) return;
    const hadConfig = !!store.current;
    if (reload('config files changed') && !hadConfig) void goLive();
  };
  const goLive = async () => {
    try {
      await startPlainListeners();
    } catch (e) {
      log.fatal(`cannot listen: ${(e as Error).message}`);
      quitResolve(1);
      return;
    }
    setState('LIVE');
  };
  watcher = new ConfigWatcher(options.configPaths, onChange);
  if (reload('startup')) await goLive();

  const onSignal = (signal: string) => void shutdown(true, signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (err) => log.error({ err }, `uncaught exception (the process keeps serving): ${err.message}`));
  process.on('unhandledRejection', (err) => log.error({ err }, `unhandled rejection (the process keeps serving): ${String(err)}`));

  return done;
}
