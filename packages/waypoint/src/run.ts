import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from './node-http.ts';
import type { AddressInfo, Socket } from 'node:net';
import { formatDiagnostic } from '@waypoint/config';
import { describeUnreachable } from '@waypoint/routing';
import { CredentialStore, HboneClient, HboneServer, describeCredentials } from '@waypoint/hbone';
import { AccessLog } from './access-log.ts';
import { adminHandler } from './admin.ts';
import type { RunOptions } from './cli.ts';
import { ConfigWatcher } from './config-watch.ts';
import { formatAddress, type ListenAddress } from './listen-address.ts';
import { createLogger, isLogLevel } from './logger.ts';
import { Proxy } from './proxy.ts';
import { ServerState } from './server-state.ts';
import { SnapshotStore, type LoadOutcome } from './snapshot.ts';
import { Stats } from './stats.ts';
import { acceptPriorKnowledgeH2c, createHttpServer, type H2cSessions } from './http-server.ts';
import { FastPathListener } from './http1-fast-path.ts';
import { memoryFigures } from './memory.ts';
import { TunnelInbound } from './tunnel-inbound.ts';
import { H2Upstreams } from './upstream-h2.ts';
import { hboneTransport, plainTransport, upstreamEndpoint } from './upstream.ts';
import { poolKey, UpstreamPools } from './upstream-pools.ts';
import { VERSION } from './version.ts';
import { WORKER_STATS_INTERVAL_MS, Workers, type MainMessage, type WorkerMessage } from './workers.ts';

/**
 * The waypoint process: config, listeners, admin, reload and drain. Resolves when the process should exit.
 * `workerId` is set in the worker processes of `--concurrency` (data plane only; see workers.ts).
 */
export async function run(options: RunOptions, argv: string[], workerId?: number): Promise<number> {
  const log = createLogger(options.logLevel, workerId);
  const reusePort = options.concurrency > 1 || workerId !== undefined;
  const stats = new Stats();
  const state = new ServerState();
  const store = new SnapshotStore(options.configPaths, options.namespace);

  // HBONE needs the waypoint's own certificate: to terminate tunnels, and to originate them upstream.
  let credentials: CredentialStore | undefined;
  if (options.hboneListen || options.upstream === 'hbone') {
    try {
      credentials = new CredentialStore({ cert: options.cert, key: options.key, ca: options.ca }, (err) =>
        log.error(`certificate rotation rejected, the previous certificate stays in force: ${err.message}`),
      );
    } catch (e) {
      log.fatal(
        `HBONE needs a workload certificate: ${(e as Error).message}. Give --cert, --key and --ca (\`waypoint certs\` makes a local set), or run without HBONE: --hbone-listen off --upstream plain`,
      );
      return 1;
    }
    credentials.watch();
    credentials.onRotate((c) => log.info(`certificate rotated: now ${describeCredentials(c)}`));
    log.info(`HBONE identity ${describeCredentials(credentials.current)}`);
  }
  const hboneClient = options.upstream === 'hbone' && credentials ? new HboneClient(credentials) : undefined;
  const transport = hboneClient ? hboneTransport(hboneClient, options.hbonePort) : plainTransport(10_000);
  const trustDomain = credentials?.current.identity.trustDomain;
  const pools = new UpstreamPools({ transport, trustDomain });
  const h2 = new H2Upstreams(transport);
  const accessLog = options.accessLog === 'off' ? undefined : new AccessLog(options.accessLog, (chunk) => process.stdout.write(chunk));
  const startedAt = new Date();
  let draining = false;

  const serverState = stats.gauge('server.state');
  const memory = { allocated: stats.gauge('server.memory_allocated'), heapSize: stats.gauge('server.memory_heap_size'), physical: stats.gauge('server.memory_physical_size') };
  stats.sampleOnRead(() => {
    const m = memoryFigures();
    memory.allocated.set(m.allocated);
    memory.heapSize.set(m.heapSize);
    memory.physical.set(m.physical);
  });
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
  /** A bug caught while serving a request: logged, and the process goes on serving. */
  const internalError = (err: Error, context: string) => log.error({ err, context }, `internal error in ${context}: ${err.message}`);

  const proxy = new Proxy({
    store,
    pools,
    stats,
    accessLog,
    h2,
    transport,
    draining: () => draining,
    trustDomain,
    onError: internalError,
  });

  /** Logs and counts a load's outcome; true when a config is in force. */
  const report = (outcome: LoadOutcome, reason: string): boolean => {
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
    for (const u of snap.router.unreachableMatches()) log.warn(`warning: ${describeUnreachable(u.parent, u.match)}`);
    const keep = new Set(snap.ir.services.flatMap((s) => s.ports.flatMap((p) => p.endpoints.map((e) => poolKey(upstreamEndpoint(e, trustDomain))))));
    pools.retain(keep);
    log.info(
      { reason, version: snap.version, services: snap.ir.services.length, httpRoutes: snap.ir.httpRoutes.length, gateways: snap.ir.gateways.length, loader: snap.loader },
      `config version ${snap.version} in force`,
    );
    return true;
  };

  const listen = async (name: string, address: ListenAddress, server: Server): Promise<Server> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: address.port, host: address.host, ...(reusePort ? { reusePort } : {}) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err, listener: name }, `listener ${name} failed: ${err.message}`));
    log.info({ listener: name, address: formatAddress(server.address() as AddressInfo) }, `${name} listening on ${formatAddress(server.address() as AddressInfo)}`);
    return server;
  };

  const plainServers: Server[] = [];
  /** The HTTP/2 (prior knowledge) sessions of each plain listener. */
  const plainH2c: H2cSessions[] = [];
  /** The HTTP/1.1 fast path of each plain listener. */
  const plainFast: FastPathListener[] = [];
  const adminServers: Server[] = [];
  let quitResolve: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (quitResolve = resolve));

  const shutdown = async (graceful: boolean, why: string): Promise<void> => {
    if (draining) return;
    draining = true;
    setState('DRAINING');
    watcher?.close();
    const graceMs = graceful ? options.drainTime * 1000 : 0;
    const closed = Promise.all([
      workers?.stop(graceMs),
      ...plainServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
      hboneServer?.close(graceMs),
    ]);
    for (const s of plainServers) s.closeIdleConnections();
    for (const h of plainH2c) h.closeGracefully();
    for (const f of plainFast) f.closeGracefully();
    tunnels.fastPath.closeGracefully();
    // Logged once this process's listeners have stopped accepting, so a reader can rely on that
    // (workers under --concurrency log their own).
    log.info({ why, drainSeconds: graceful ? options.drainTime : 0 }, `draining: ${why}`);
    const deadline = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([closed, deadline]);
    for (const s of plainServers) s.closeAllConnections();
    for (const h of plainH2c) h.destroyAll();
    for (const f of plainFast) f.destroyAll();
    tunnels.fastPath.destroyAll();
    accessLog?.flush();
    pools.close();
    h2.close();
    hboneClient?.close();
    credentials?.close();
    for (const s of adminServers) s.closeAllConnections(), s.close();
    log.info('exiting');
    quitResolve(0);
  };

  let workers: Workers | undefined;
  const admin = adminHandler({
    store,
    stats,
    state,
    version: VERSION,
    commandLine: argv,
    startedAt,
    quit: () => void shutdown(false, 'POST /quitquitquit'),
    drain: () => void shutdown(true, 'POST /drain_listeners'),
    log: {
      get level() {
        return log.level;
      },
      setLevel(level) {
        log.setLevel(level);
        workers?.setLogLevel(level);
      },
    },
  });

  const httpHooks = {
    onProtocolError: (err: NodeJS.ErrnoException) => {
      protocolErrors.inc();
      log.debug({ code: err.code }, `unparseable request: ${err.message}`);
    },
  };
  let hboneServer: HboneServer | undefined;
  let boundHbone: ListenAddress | undefined;
  const tunnels = new TunnelInbound({ store, proxy, transport, trustDomain, log, hooks: httpHooks, onError: internalError });

  const startTrafficListeners = async () => {
    for (const spec of options.httpListen) {
      const context = { kind: 'plain' as const, gatewayPort: spec.gatewayPort };
      const handler = (req: Parameters<Proxy['handle']>[0], res: Parameters<Proxy['handle']>[1]) => proxy.handle(req, res, context);
      const server = createHttpServer(handler, httpHooks);
      // FastRequest and FastResponse carry the parts of IncomingMessage and ServerResponse the proxy uses.
      const fast = new FastPathListener((err) => internalError(err, 'http'));
      plainFast.push(fast);
      plainH2c.push(acceptPriorKnowledgeH2c(server, handler as never, httpHooks, undefined, (socket, toNodeHttp) => fast.serve(socket, toNodeHttp, handler as never)));
      server.on('connection', (socket: Socket) => {
        cxActive.inc();
        socket.once('close', () => cxActive.dec());
      });
      plainServers.push(await listen(`http ${formatAddress(spec.address)} (Gateway port ${spec.gatewayPort})`, spec.address, server));
    }
    if (options.hboneListen && credentials) {
      hboneServer = new HboneServer({
        credentials,
        onConnect: (req) => tunnels.onConnect(req),
        onRefused: (reason, detail) => log.warn(detail, `HBONE refused: ${reason}`),
      });
      hboneServer.server.on('connection', (socket: Socket) => {
        cxActive.inc();
        socket.once('close', () => cxActive.dec());
      });
      const address = await hboneServer.listen(options.hboneListen.host, options.hboneListen.port, reusePort);
      boundHbone = { host: options.hboneListen.host, port: address.port };
      log.info({ listener: 'hbone', address: formatAddress(address) }, `hbone listening on ${formatAddress(address)}`);
    }
    workersStarted.set(1);
    if (options.concurrency > 1 && workerId === undefined) {
      // Workers bind the ports this process bound (port 0 resolved), with the admin side left to this one.
      const httpListen = options.httpListen.map((spec, i) => ({ ...spec, address: { host: spec.address.host, port: (plainServers[i]!.address() as AddressInfo).port } }));
      const workerOptions: RunOptions = { ...options, concurrency: 1, admin: undefined, stats: undefined, health: undefined, httpListen, hboneListen: boundHbone };
      workers = new Workers(options.concurrency - 1, workerOptions, stats, log, (n) => workersStarted.set(1 + n));
      workers.start();
    }
  };

  // Admin, readiness and stats come up first, so a failing first config can be seen from outside.
  const routes: [string, ListenAddress | undefined, (req: IncomingMessage, res: ServerResponse) => void][] = [
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
  // A large config loads in a worker thread (at startup too, so that its parse garbage and the YAML text,
  // which parsed values would keep alive as slices of it, never enter this heap); loads never overlap, and
  // a change seen during one is loaded right after it.
  let reloading = false;
  let changedAgain = false;
  /** Loads the config files, and again while they changed meanwhile; the first good config opens the listeners. */
  const loadUntilSettled = async (reason: string) => {
    reloading = true;
    do {
      changedAgain = false;
      const hadConfig = !!store.current;
      if (report(await store.loadAsync(), reason) && !hadConfig && !draining) await goLive();
      reason = 'config files changed';
    } while (changedAgain && !draining);
    reloading = false;
  };
  const onChange = () => {
    if (draining) return;
    if (reloading) {
      changedAgain = true;
      return;
    }
    void loadUntilSettled('config files changed');
  };
  const goLive = async () => {
    try {
      await startTrafficListeners();
    } catch (e) {
      log.fatal(`cannot listen: ${(e as Error).message}`);
      quitResolve(1);
      return;
    }
    setState('LIVE');
  };
  watcher = new ConfigWatcher(options.configPaths, onChange);
  await loadUntilSettled('startup');

  const onSignal = (signal: string) => void shutdown(true, signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (workerId !== undefined && process.send) {
    // A worker reports its counters to the main process, and drains when the main process goes away.
    const timer = setInterval(() => process.send?.({ type: 'stats', snapshot: stats.snapshot(), logLevel: log.level } satisfies WorkerMessage), WORKER_STATS_INTERVAL_MS);
    timer.unref();
    process.on('message', (m: MainMessage) => {
      if (m?.type === 'log-level' && isLogLevel(m.level)) log.setLevel(m.level);
    });
    process.once('disconnect', () => void shutdown(true, 'main process gone'));
  }
  process.on('uncaughtException', (err) => log.error({ err }, `uncaught exception (the process keeps serving): ${err.message}`));
  process.on('unhandledRejection', (err) => log.error({ err }, `unhandled rejection (the process keeps serving): ${String(err)}`));

  return done;
}
