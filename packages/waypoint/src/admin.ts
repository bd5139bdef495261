import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatDiagnostic } from '@waypoint/config';
import { describeUnreachable, formatTrace } from '@waypoint/routing';
import { parseExplainRequest } from './cli.ts';
import type { SnapshotStore } from './snapshot.ts';
import type { Stats } from './stats.ts';
import { memoryJson } from './memory.ts';
import type { ServerState } from './server-state.ts';
import { isLogLevel, LOG_LEVELS, type Logger, type LogLevel } from './logger.ts';

export interface AdminDeps {
  store: SnapshotStore;
  stats: Stats;
  state: ServerState;
  version: string;
  commandLine: string[];
  startedAt: Date;
  quit: () => void;
  drain: () => void;
  /** The process log, whose level /logging shows and changes (in every worker process too). */
  log: Pick<Logger, 'level' | 'setLevel'>;
}

/** The process has one logger; /logging knows it by this name. */
export const LOGGER_NAME = 'waypoint';

/** Each level by Envoy's name for it, as /logging shows it and takes it. */
const ENVOY_LEVEL: Record<LogLevel, string> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warning', error: 'error', fatal: 'critical', silent: 'off' };

/** The level `name` names: Envoy's name for it, or this logger's own (`--log-level`'s). */
function levelNamed(name: string): LogLevel | undefined {
  return isLogLevel(name) ? name : LOG_LEVELS.find((level) => ENVOY_LEVEL[level] === name);
}

const LOGGING_USAGE = `usage: /logging?level=<level> (change all levels), /logging?${LOGGER_NAME}=<level> or /logging?paths=${LOGGER_NAME}:<level> (change one); levels: trace, debug, info, warning, error, critical, off\n`;

/** The level a /logging query asks for (undefined: none, only list), or 'invalid' for an unknown logger or level. */
function requestedLevel(query: URLSearchParams): LogLevel | undefined | 'invalid' {
  let wanted: string | undefined;
  for (const [key, value] of query) {
    if (key === 'level' || key === LOGGER_NAME) wanted = value;
    else if (key === 'paths') {
      for (const path of value.split(',')) {
        const colon = path.lastIndexOf(':');
        if (colon < 0 || path.slice(0, colon) !== LOGGER_NAME) return 'invalid';
        wanted = path.slice(colon + 1);
      }
    } else return 'invalid';
  }
  if (wanted === undefined) return undefined;
  return levelNamed(wanted) ?? 'invalid';
}

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=UTF-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const json = (res: ServerResponse, value: unknown) => send(res, 200, `${JSON.stringify(value, null, 2)}\n`, 'application/json');

/** Envoy's admin API, as far as a waypoint operator uses it. */
export function adminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, stats, state } = deps;
  const get: Record<string, [string, Handler]> = {
    '/ready': ['print server state: 200 LIVE once serving', (_req, res) => send(res, state.live ? 200 : 503, `${state.name}\n`)],
    '/server_info': [
      'print server version/status information',
      (_req, res) =>
        json(res, {
          version: deps.version,
          state: state.name,
          uptime_current_epoch: `${Math.floor((Date.now() - deps.startedAt.getTime()) / 1000)}s`,
          uptime_all_epochs: `${Math.floor((Date.now() - deps.startedAt.getTime()) / 1000)}s`,
          command_line_options: { argv: deps.commandLine },
        }),
    ],
    '/explain': [
      'how the config in force routes a request: ?request=GET%20http://host/path&header=name:%20value&port=80 (or tunnel=IP:PORT)&format=json',
      (_req, res, query) => {
        const snap = store.current;
        if (!snap) return send(res, 503, 'no config in force yet\n');
        let r;
        try {
          r = parseExplainRequest(query.get('request') ?? '', query.getAll('header'), query.get('port') ?? undefined, query.get('tunnel') ?? undefined);
        } catch (e) {
          return send(res, 400, `${(e as Error).message}\n`);
        }
        const trace = snap.router.explain(r.via, r.host, { method: r.method, path: r.path, query: r.query, headers: r.headers });
        if (query.get('format') === 'json') return json(res, { version: snap.version, ...trace });
        send(res, 200, `config version ${snap.version}\n${formatTrace(trace).join('\n')}\n`);
      },
    ],
    '/config_dump': [
      'dump the config in force (the IR), its warnings and the last rejected reload',
      (_req, res) => {
        const snap = store.current;
        json(res, {
          version: snap?.version ?? 0,
          loaded_at: snap?.loadedAt.toISOString() ?? null,
          config: snap?.ir ?? null,
          warnings: snap?.warnings.map(formatDiagnostic) ?? [],
          unreachable_matches: snap?.router.unreachableMatches().map((u) => describeUnreachable(u.parent, u.match)) ?? [],
          last_rejected: store.lastRejection
            ? { at: store.lastRejection.at.toISOString(), errors: store.lastRejection.diagnostics.map(formatDiagnostic) }
            : null,
        });
      },
    ],
    '/clusters': [
      'upstream clusters and their endpoints',
      (_req, res) => {
        const lines: string[] = [];
        for (const svc of store.current?.ir.services ?? []) {
          for (const port of svc.ports) {
            const cluster = `inbound-vip|${port.port}|http|${svc.hostname}`;
            for (const ep of port.endpoints) {
              lines.push(`${cluster}::${ep.address}:${ep.port}::health_flags::${ep.ready ? 'healthy' : '/failed_eds_health'}`);
            }
          }
        }
        send(res, 200, lines.join('\n') + (lines.length ? '\n' : ''));
      },
    ],
    '/stats': [
      'print server stats (?filter=REGEX, ?usedonly, ?format=json)',
      (_req, res, q) => {
        let filter: RegExp | undefined;
        const f = q.get('filter');
        if (f) {
          try {
            filter = new RegExp(f);
          } catch (e) {
            return send(res, 400, `Invalid regex: ${(e as Error).message}\n`);
          }
        }
        const text = stats.text(filter, q.has('usedonly'));
        if (q.get('format') === 'json') {
          const list = text.trim() ? text.trim().split('\n').map((l) => l.split(': ')).map(([name, value]) => ({ name, value: Number(value) })) : [];
          return json(res, { stats: list });
        }
        send(res, 200, text);
      },
    ],
    '/memory': ['print current allocation/heap usage', (_req, res) => json(res, memoryJson())],
    '/stats/prometheus': ['print server stats in prometheus format', (_req, res) => send(res, 200, stats.prometheus(), 'text/plain; version=0.0.4')],
  };
  const post: Record<string, [string, Handler]> = {
    '/quitquitquit': ['exit the server', (_req, res) => (send(res, 200, 'OK\n'), setImmediate(deps.quit))],
    '/drain_listeners': ['stop accepting, let in-flight requests finish (?graceful)', (_req, res) => (deps.drain(), send(res, 200, 'OK\n'))],
    '/healthcheck/fail': ['cause the server to fail readiness', (_req, res) => ((state.failedHealthcheck = true), send(res, 200, 'OK\n'))],
    '/healthcheck/ok': ['cause the server to pass readiness', (_req, res) => ((state.failedHealthcheck = false), send(res, 200, 'OK\n'))],
    '/reset_counters': ['reset all counters to zero', (_req, res) => send(res, 501, 'not supported\n')],
    '/logging': [
      `list the process logger and its level; ?level=L, ?${LOGGER_NAME}=L or ?paths=${LOGGER_NAME}:L changes it`,
      (_req, res, query) => {
        const level = requestedLevel(query);
        if (level === 'invalid') return send(res, 404, LOGGING_USAGE);
        if (level) deps.log.setLevel(level);
        send(res, 200, `active loggers:\n  ${LOGGER_NAME}: ${ENVOY_LEVEL[deps.log.level]}\n`);
      },
    ],
  };
  const help = () =>
    'admin commands are:\n' +
    [...Object.entries(get).map(([p, [d]]) => `  ${p}: ${d}`), ...Object.entries(post).map(([p, [d]]) => `  ${p} (POST): ${d}`)].join('\n') +
    '\n';

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (path === '/' || path === '/help') return send(res, 200, help());
    const g = get[path];
    const p = post[path];
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (g) return g[1](req, res, url.searchParams);
      if (p) return send(res, 400, 'This endpoint requires POST\n');
    } else if (req.method === 'POST') {
      if (p) return p[1](req, res, url.searchParams);
      if (g) return g[1](req, res, url.searchParams);
    }
    send(res, 404, `invalid path: ${path}\n${help()}`);
  };
}
