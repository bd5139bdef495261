import { util } from './builtins.ts';
import { parseHttpListen, parseListenAddress, type HttpListenSpec, type ListenAddress } from './listen-address.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger.ts';

export type AccessLogFormat = 'text' | 'json' | 'off';

export interface RunOptions {
  configPaths: string[];
  kube: boolean;
  name: string;
  namespace: string;
  hboneListen: ListenAddress | undefined;
  httpListen: HttpListenSpec[];
  upstream: 'hbone' | 'plain';
  hbonePort: number;
  admin: ListenAddress | undefined;
  stats: ListenAddress | undefined;
  health: ListenAddress | undefined;
  cert: string;
  key: string;
  ca: string;
  concurrency: number;
  accessLog: AccessLogFormat;
  /** Seconds that in-flight requests get to finish after SIGTERM. */
  drainTime: number;
  logLevel: LogLevel;
}

export const USAGE = `usage:
  waypoint run [--config PATH]... [--kube] [--name NAME] [--namespace NS]
               [--hbone-listen ADDR|off] [--http-listen ADDR[=PORT]|off]...
               [--upstream hbone|plain] [--hbone-port N]
               [--admin ADDR|off] [--stats ADDR|off] [--health ADDR|off]
               [--cert F --key F --ca F] [--concurrency N] [--access-log text|json|off]
               [--drain-time SECONDS] [--log-level LEVEL]
  waypoint validate --config PATH...
  waypoint explain --config PATH... [--port N | --tunnel IP:PORT] [-H 'name: value']... [--json] '[METHOD] URL'
  waypoint certs --out DIR [--trust-domain TD] --identity NS/SA... [--days N] [--dns NAME]... [--expired]
Every flag also reads from WAYPOINT_<FLAG> (e.g. WAYPOINT_HTTP_LISTEN); lists are comma-separated.
POD_NAMESPACE sets the default --namespace.`;

/** Where Istio mounts a proxy's workload certificate, key and root certificate when they come from files. */
export const ISTIO_CERT_PATHS = { cert: '/etc/certs/cert-chain.pem', key: '/etc/certs/key.pem', ca: '/etc/certs/root-cert.pem' } as const;

const RUN_FLAGS = {
  config: { type: 'string', multiple: true },
  kube: { type: 'boolean' },
  name: { type: 'string' },
  namespace: { type: 'string' },
  'hbone-listen': { type: 'string' },
  'http-listen': { type: 'string', multiple: true },
  upstream: { type: 'string' },
  'hbone-port': { type: 'string' },
  admin: { type: 'string' },
  stats: { type: 'string' },
  health: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  concurrency: { type: 'string' },
  'access-log': { type: 'string' },
  'drain-time': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function envName(flag: string): string {
  return `WAYPOINT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Flag value, else the WAYPOINT_* variable, else the default. */
function pick(values: Record<string, unknown>, env: Env, flag: string): string | undefined {
  const v = values[flag];
  if (typeof v === 'string') return v;
  return env[envName(flag)] || undefined;
}

function pickList(values: Record<string, unknown>, env: Env, flag: string): string[] {
  const v = values[flag];
  if (Array.isArray(v) && v.length) return v as string[];
  const e = env[envName(flag)];
  return e ? e.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function optionalAddress(text: string, flag: string): ListenAddress | undefined {
  if (text === 'off') return undefined;
  try {
    return parseListenAddress(text);
  } catch (e) {
    throw new Error(`--${flag}: ${(e as Error).message}`);
  }
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  return n;
}

export function parseRunOptions(args: string[], env: Env): RunOptions | 'help' {
  const { values } = util.parseArgs({ args, options: RUN_FLAGS, strict: true, allowPositionals: false });
  if (values.help) return 'help';
  const configPaths = pickList(values, env, 'config');
  const kube = values.kube ?? env.WAYPOINT_KUBE === 'true';
  if (kube) throw new Error('--kube (watching the Kubernetes API) is not supported yet; give --config files instead');
  if (configPaths.length === 0) throw new Error('no config: give --config PATH (a YAML file or a directory of them)');

  const upstream = pick(values, env, 'upstream') ?? 'hbone';
  if (upstream !== 'plain' && upstream !== 'hbone') throw new Error(`--upstream must be hbone or plain (got ${JSON.stringify(upstream)})`);

  const accessLog = pick(values, env, 'access-log') ?? 'off';
  if (accessLog !== 'text' && accessLog !== 'json' && accessLog !== 'off') throw new Error(`--access-log must be text, json or off (got ${JSON.stringify(accessLog)})`);
  const logLevel = pick(values, env, 'log-level') ?? 'info';
  if (!isLogLevel(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(logLevel)})`);

  const concurrency = integer(pick(values, env, 'concurrency') ?? '1', 'concurrency', 1, 64);

  const hboneListen = optionalAddress(pick(values, env, 'hbone-listen') ?? '0.0.0.0:15008', 'hbone-listen');

  const httpListen: HttpListenSpec[] = [];
  for (const spec of pickList(values, env, 'http-listen')) {
    if (spec === 'off') continue;
    try {
      httpListen.push(parseHttpListen(spec));
    } catch (e) {
      throw new Error(`--http-listen: ${(e as Error).message}`);
    }
  }
  if (httpListen.length === 0 && !hboneListen) throw new Error('no listener: --hbone-listen is off and no --http-listen is given');

  return {
    configPaths,
    kube,
    name: pick(values, env, 'name') ?? 'waypoint',
    namespace: pick(values, env, 'namespace') ?? env.POD_NAMESPACE ?? 'default',
    hboneListen,
    httpListen,
    upstream,
    hbonePort: integer(pick(values, env, 'hbone-port') ?? '15008', 'hbone-port', 1, 65535),
    admin: optionalAddress(pick(values, env, 'admin') ?? '127.0.0.1:15000', 'admin'),
    stats: optionalAddress(pick(values, env, 'stats') ?? '0.0.0.0:15020', 'stats'),
    health: optionalAddress(pick(values, env, 'health') ?? '0.0.0.0:15021', 'health'),
    cert: pick(values, env, 'cert') ?? ISTIO_CERT_PATHS.cert,
    key: pick(values, env, 'key') ?? ISTIO_CERT_PATHS.key,
    ca: pick(values, env, 'ca') ?? ISTIO_CERT_PATHS.ca,
    concurrency,
    accessLog,
    drainTime: integer(pick(values, env, 'drain-time') ?? '5', 'drain-time', 0, 3600),
    logLevel,
  };
}

export function parseValidateOptions(args: string[], env: Env): { configPaths: string[]; namespace: string } | 'help' {
  const { values } = util.parseArgs({
    args,
    options: { config: { type: 'string', multiple: true }, namespace: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const configPaths = pickList(values, env, 'config');
  if (configPaths.length === 0) throw new Error('no config: give --config PATH');
  return { configPaths, namespace: values.namespace ?? env.WAYPOINT_NAMESPACE ?? env.POD_NAMESPACE ?? 'default' };
}

/** A request to explain: how it arrives and what it carries. */
export interface ExplainRequest {
  via: { kind: 'plain'; gatewayPort: number } | { kind: 'tunnel'; ip: string; port: number };
  method: string;
  host: string | undefined;
  path: string;
  query: string;
  headers: Record<string, string>;
}

export interface ExplainOptions extends ExplainRequest {
  configPaths: string[];
  namespace: string;
  json: boolean;
}

/**
 * `'[METHOD] URL'` (the method defaults to GET), `name: value` headers, and either a Gateway port for the
 * plain listener (default 80) or the `IP:PORT` of an HBONE tunnel. Shared by `explain` and the admin API.
 */
export function parseExplainRequest(request: string, headerLines: readonly string[], port: string | undefined, tunnel: string | undefined): ExplainRequest {
  const words = request.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words.length > 2) throw new Error(`give the request as '[METHOD] URL', e.g. 'GET http://reviews.default/api?x=1'`);
  const method = words.length === 2 ? words[0]!.toUpperCase() : 'GET';
  let url: URL;
  try {
    url = new URL(words[words.length - 1]!);
  } catch {
    throw new Error(`not an absolute URL: ${JSON.stringify(words[words.length - 1])} (write it as http://host/path)`);
  }
  const headers: Record<string, string> = {};
  for (const h of headerLines) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new Error(`header ${JSON.stringify(h)}: write it as 'name: value'`);
    const name = h.slice(0, colon).trim().toLowerCase();
    headers[name] = headers[name] !== undefined ? `${headers[name]},${h.slice(colon + 1).trim()}` : h.slice(colon + 1).trim();
  }
  if (port !== undefined && tunnel !== undefined) throw new Error('port and tunnel exclude each other');
  let via: ExplainRequest['via'] = { kind: 'plain', gatewayPort: integer(port ?? '80', 'port', 1, 65535) };
  if (tunnel !== undefined) {
    const m = /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):(\d+)$/.exec(tunnel);
    if (!m) throw new Error(`tunnel ${JSON.stringify(tunnel)}: write it as IP:PORT, the CONNECT authority`);
    via = { kind: 'tunnel', ip: m[1]!.replace(/^\[|\]$/g, ''), port: integer(m[2]!, 'tunnel port', 1, 65535) };
  }
  const host = headers.host ?? url.host;
  headers.host = host;
  return { via, method, host, path: url.pathname, query: url.search.slice(1), headers };
}

export function parseExplainOptions(args: string[], env: Env): ExplainOptions | 'help' {
  const { values, positionals } = util.parseArgs({
    args,
    options: {
      config: { type: 'string', multiple: true },
      namespace: { type: 'string' },
      port: { type: 'string' },
      tunnel: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return 'help';
  const configPaths = pickList(values, env, 'config');
  if (configPaths.length === 0) throw new Error('no config: give --config PATH');
  return {
    ...parseExplainRequest(positionals.join(' '), values.header ?? [], values.port, values.tunnel),
    configPaths,
    namespace: values.namespace ?? env.WAYPOINT_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
    json: values.json ?? false,
  };
}

export interface CertsOptions {
  out: string;
  trustDomain: string;
  identities: { namespace: string; serviceAccount: string }[];
  dnsNames: string[];
  days: number;
  expired: boolean;
}

export function parseCertsOptions(args: string[]): CertsOptions | 'help' {
  const { values } = util.parseArgs({
    args,
    options: {
      out: { type: 'string' },
      'trust-domain': { type: 'string' },
      identity: { type: 'string', multiple: true },
      dns: { type: 'string', multiple: true },
      days: { type: 'string' },
      expired: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (!values.out) throw new Error('give --out DIR');
  const identities = (values.identity ?? []).map((text) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(text);
    if (!m) throw new Error(`--identity must be NAMESPACE/SERVICEACCOUNT (got ${JSON.stringify(text)})`);
    return { namespace: m[1]!, serviceAccount: m[3]! };
  });
  const dnsNames = values.dns ?? [];
  if (identities.length === 0 && dnsNames.length === 0) throw new Error('give at least one --identity NAMESPACE/SERVICEACCOUNT');
  return {
    out: values.out,
    trustDomain: values['trust-domain'] ?? 'cluster.local',
    identities,
    dnsNames,
    days: integer(values.days ?? '365', 'days', 1, 36500),
    expired: values.expired ?? false,
  };
}
