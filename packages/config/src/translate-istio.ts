/**
 * Istio's networking kinds into the IR: VirtualServices (resolved to the Services they route for,
 * shadowed by HTTPRoutes, in conflict with each other) and DestinationRules (subsets and policies).
 */
import type {
  CorsIR,
  DestinationRuleIR,
  HashKeyIR,
  HeaderModifierIR,
  HttpRouteIR,
  IstioStringMatchIR,
  LoadBalancerIR,
  MirrorIR,
  RetryPolicyIR,
  ServiceIR,
  TrafficPolicyIR,
  VirtualServiceIR,
  VsDestinationIR,
  VsMatchIR,
  VsRouteIR,
} from './ir.ts';
import { routesByService } from './ir.ts';
import { compileRegex } from './regex.ts';
import type { DestinationRule, IstioDestination, IstioHeaderOps, IstioHttpMatch, IstioHttpRoute, IstioLoadBalancer, IstioStringMatch, IstioTrafficPolicy, VirtualService } from './resources.ts';
import { CLUSTER_DOMAIN, type Path, type Reporter } from './translate.ts';
import type { SourcedResource } from './validate.ts';

/** Milliseconds in a Go-style duration as Istio reads it ("1.5s", "100ms", "1m30s"). */
export function istioDurationMs(text: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|us|µs|ns|h|m|s)/g)) total += Number(n) * unit[u!]!;
  return Math.round(total);
}

/** The Service a VirtualService or DestinationRule host names, resolved as Istio does against the resource's namespace. */
export function serviceForIstioHost(host: string, namespace: string, services: ReadonlyMap<string, ServiceIR>): ServiceIR | undefined {
  const h = host.toLowerCase();
  const parts = h.split('.');
  let key: string | undefined;
  if (parts.length === 1) key = `${namespace}/${h}`;
  else if (parts.length === 2 || (parts.length === 3 && parts[2] === 'svc') || h.endsWith(`.svc.${CLUSTER_DOMAIN}`)) key = `${parts[1]}/${parts[0]}`;
  return key ? services.get(key) : undefined;
}

function stringMatch(m: IstioStringMatch): IstioStringMatchIR {
  if (m.exact !== undefined) return { type: 'exact', value: m.exact };
  if (m.prefix !== undefined) return { type: 'prefix', value: m.prefix };
  if (m.regex !== undefined) return { type: 'regex', value: m.regex };
  return { type: 'present', value: '' };
}

function headerOps(ops: IstioHeaderOps | undefined): HeaderModifierIR | undefined {
  if (!ops) return undefined;
  const list = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).map(([name, value]) => ({ name: name.toLowerCase(), value }));
  return { set: list(ops.set), add: list(ops.add), remove: (ops.remove ?? []).map((n) => n.toLowerCase()) };
}

/**
 * Istio's conversion of `retries`: Envoy conditions and, as numbers, retriable status codes in `retryOn`.
 * Without `attempts` (or with 0) Istio turns retrying off for the route, whatever else is set.
 */
function vsRetry(r: NonNullable<IstioHttpRoute['retries']>): RetryPolicyIR {
  if (!r.attempts) return { numRetries: 0, retryOn: [], codes: [], backoffBaseMs: 25 }; // the schema refuses negatives
  const on = (r.retryOn ?? 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes').split(',').map((x) => x.trim()).filter(Boolean);
  const codes = on.filter((x) => /^\d+$/.test(x)).map(Number);
  const conditions = on.filter((x) => !/^\d+$/.test(x));
  if (codes.length && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
  const perTry = r.perTryTimeout ? istioDurationMs(r.perTryTimeout) : 0;
  return { numRetries: r.attempts, retryOn: conditions, codes, backoffBaseMs: r.backoff ? istioDurationMs(r.backoff) || 25 : 25, ...(perTry ? { perTryTimeoutMs: perTry } : {}) };
}

/** gRPC status names Istio accepts for fault aborts. */
const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

interface IstioContext {
  /** Services by key (`namespace/name`). */
  services: ReadonlyMap<string, ServiceIR>;
  httpRoutes: readonly HttpRouteIR[];
  /** Subset names per Service key, from DestinationRules. */
  subsets: Map<string, Set<string>>;
}

/** Istio's order between resources that conflict: the oldest creationTimestamp first (none counts as newest), then by id. */
function oldestFirst(a: SourcedResource, b: SourcedResource): number {
  const ta = Date.parse(a.resource.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER;
  const tb = Date.parse(b.resource.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER;
  return ta - tb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * VirtualServices in force. A VirtualService routes for the Services its hosts name; for a Service with an
 * HTTPRoute (or GRPCRoute) attached the route wins and the VirtualService is reported shadowed; of several
 * VirtualServices for one Service the oldest wins (creationTimestamp, then namespace/name).
 */
export function translateVirtualServices(sources: (SourcedResource & { resource: VirtualService })[], ctx: IstioContext, report: Reporter): VirtualServiceIR[] {
  const ordered = [...sources].sort(oldestFirst);
  const owner = new Map<string, string>();
  const out: VirtualServiceIR[] = [];
  const attachedTo = routesByService(ctx.httpRoutes);
  // A VirtualService without hosts is a delegate: it routes only where a root's route delegates to it.
  const delegates = new Map(sources.filter((s) => !s.resource.spec.hosts?.length).map((s) => [`${s.resource.metadata.namespace}/${s.resource.metadata.name}`, s]));
  for (const src of ordered) {
    const vs = src.resource;
    const namespace = vs.metadata.namespace!;
    const key = `${namespace}/${vs.metadata.name}`;
    if (!vs.spec.hosts?.length) continue;
    if (vs.spec.gateways?.length && !vs.spec.gateways.includes('mesh')) {
      report.add('warning', src, ['spec', 'gateways'], 'binds to gateways only (no "mesh"), so it does not apply to the waypoint; ignored');
      continue;
    }
    const services: string[] = [];
    vs.spec.hosts.forEach((host, hi) => {
      const svc = serviceForIstioHost(host, namespace, ctx.services);
      if (!svc) return report.add('warning', src, ['spec', 'hosts', hi], `${JSON.stringify(host)} names no Service in the config; it has no effect`);
      const routes = attachedTo.get(svc.key) ?? [];
      if (routes.length) {
        return report.add('warning', src, ['spec', 'hosts', hi], `shadowed: ${routes.map((r) => `${r.kind ?? 'HTTPRoute'} ${r.key}`).join(', ')} also routes Service ${svc.key}, and the route wins (as in Istio)`);
      }
      const first = owner.get(svc.key);
      if (first) return report.add('warning', src, ['spec', 'hosts', hi], `conflicts with VirtualService ${first} for Service ${svc.key}; the older one wins and this host is ignored`);
      owner.set(svc.key, key);
      services.push(svc.key);
    });
    const routes = (vs.spec.http ?? []).flatMap((r, ri) => {
      if (r.delegate) return delegatedRoutes(r, namespace, delegates, ctx, src, ['spec', 'http', ri], report);
      const route = translateVsRoute(r, namespace, ctx, src, ['spec', 'http', ri], report);
      return route ? [route] : [];
    });
    if (services.length) out.push({ key, namespace, name: vs.metadata.name, ...(vs.metadata.creationTimestamp ? { creationTimestamp: vs.metadata.creationTimestamp } : {}), services, routes });
  }
  return out;
}

/**
 * The routes a root route delegates to (Istio's delegate VirtualService): each of the delegate's routes, in
 * order, with its matches narrowed by the root route's (both must hold). A delegate match that contradicts
 * the root's (another uri, method, authority, port, or header value) is dropped with a warning, as Istio
 * drops conflicting delegate routes.
 */
function delegatedRoutes(
  root: IstioHttpRoute,
  namespace: string,
  delegates: Map<string, SourcedResource & { resource: VirtualService }>,
  ctx: IstioContext,
  src: SourcedResource,
  path: Path,
  report: Reporter,
): VsRouteIR[] {
  const others = ['route', 'redirect', 'directResponse', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrors', 'corsPolicy', 'headers'].filter((k) => (root as Record<string, unknown>)[k] !== undefined);
  if (others.length) {
    report.add('error', src, [...path, others[0]!], `a route that delegates may only have match and delegate (found ${others.join(', ')})`);
    return [];
  }
  const d = root.delegate!;
  const key = `${d.namespace ?? namespace}/${d.name}`;
  const target = delegates.get(key);
  if (!target) {
    report.add('warning', src, [...path, 'delegate'], `no VirtualService ${key} without hosts to delegate to; the route is left out`);
    return [];
  }
  const delegateNs = target.resource.metadata.namespace!;
  const rootMatches = translateVsMatches(root.match ?? [], src, path, report);
  return (target.resource.spec.http ?? []).flatMap((r, ri) => {
    if (r.delegate) {
      report.add('warning', target, ['spec', 'http', ri, 'delegate'], 'a delegate VirtualService cannot delegate further; the route is left out');
      return [];
    }
    const route = translateVsRoute(r, delegateNs, ctx, target, ['spec', 'http', ri], report);
    if (!route) return [];
    if (!rootMatches.length) return [route];
    const own = route.matches.length ? route.matches : [emptyMatch()];
    const merged = rootMatches.flatMap((a) => own.flatMap((b) => mergeMatches(a, b) ?? []));
    if (!merged.length) {
      report.add('warning', target, ['spec', 'http', ri, 'match'], `no match of this route fits within the delegating route's matches (${src.id}); the route is left out`);
      return [];
    }
    return [{ ...route, matches: merged }];
  });
}

const emptyMatch = (): VsMatchIR => ({ ignoreUriCase: false, headers: [], withoutHeaders: [], queryParams: [] });

/** Both matches at once, or undefined when they contradict each other. */
function mergeMatches(root: VsMatchIR, d: VsMatchIR): VsMatchIR | undefined {
  const one = <T>(a: T | undefined, b: T | undefined, same: (x: T, y: T) => boolean): { ok: boolean; v: T | undefined } => (a === undefined ? { ok: true, v: b } : b === undefined ? { ok: true, v: a } : { ok: same(a, b), v: b });
  // Whether b takes no value a refuses: b is then the narrower of the two.
  const sm = (a: IstioStringMatchIR, b: IstioStringMatchIR) =>
    (a.type === b.type && a.value === b.value) || a.type === 'present' || (a.type === 'prefix' && b.type !== 'regex' && b.type !== 'present' && b.value.startsWith(a.value));
  const uri = one(root.uri, d.uri, sm);
  const method = one(root.method, d.method, sm);
  const authority = one(root.authority, d.authority, sm);
  const scheme = one(root.scheme, d.scheme, sm);
  const port = one(root.port, d.port, (x, y) => x === y);
  const source = one(root.sourceNamespace, d.sourceNamespace, (x, y) => x === y);
  if (![uri, method, authority, scheme, port, source].every((x) => x.ok)) return undefined;
  const union = (a: { name: string; match: IstioStringMatchIR }[], b: { name: string; match: IstioStringMatchIR }[]) => {
    const out = [...a];
    for (const h of b) {
      const prev = out.find((x) => x.name === h.name);
      if (!prev) out.push(h);
      else if (!sm(prev.match, h.match)) return undefined;
      else out[out.indexOf(prev)] = h;
    }
    return out;
  };
  const headers = union(root.headers, d.headers);
  const withoutHeaders = union(root.withoutHeaders, d.withoutHeaders);
  const queryParams = union(root.queryParams, d.queryParams);
  if (!headers || !withoutHeaders || !queryParams) return undefined;
  return {
    ignoreUriCase: d.uri ? d.ignoreUriCase : root.ignoreUriCase,
    headers,
    withoutHeaders,
    queryParams,
    ...(uri.v ? { uri: uri.v } : {}),
    ...(method.v ? { method: method.v } : {}),
    ...(authority.v ? { authority: authority.v } : {}),
    ...(scheme.v ? { scheme: scheme.v } : {}),
    ...(port.v !== undefined ? { port: port.v } : {}),
    ...(source.v ? { sourceNamespace: source.v } : {}),
  };
}

/** A VirtualService route's matches, each regex checked against RE2's rules. */
function translateVsMatches(matches: IstioHttpMatch[], src: SourcedResource, path: Path, report: Reporter): VsMatchIR[] {
  return matches.map((m, mi) => {
    const at = [...path, 'match', mi];
    const check = (sm: IstioStringMatchIR | undefined, field: Path) => {
      const err = sm?.type === 'regex' ? compileRegex(sm.value).error : undefined;
      if (err) report.add('error', src, [...at, ...field], err);
      return sm;
    };
    const named = (map: Record<string, IstioStringMatch> | undefined, field: string, lower: boolean) =>
      Object.entries(map ?? {}).map(([name, sm]) => ({ name: lower ? name.toLowerCase() : name, match: check(stringMatch(sm), [field, name])! }));
    const queryParams = named(m.queryParams, 'queryParams', false);
    queryParams.forEach((q) => q.match.type === 'prefix' && report.add('error', src, [...at, 'queryParams', q.name], 'query parameters match exact or regex only'));
    const match: VsMatchIR = {
      ignoreUriCase: m.ignoreUriCase ?? false,
      headers: named(m.headers, 'headers', true),
      withoutHeaders: named(m.withoutHeaders, 'withoutHeaders', true),
      queryParams,
      ...(m.uri ? { uri: check(stringMatch(m.uri), ['uri'])! } : {}),
      ...(m.method ? { method: check(stringMatch(m.method), ['method'])! } : {}),
      ...(m.authority ? { authority: check(stringMatch(m.authority), ['authority'])! } : {}),
      ...(m.scheme ? { scheme: check(stringMatch(m.scheme), ['scheme'])! } : {}),
      ...(m.port !== undefined ? { port: m.port } : {}),
      ...(m.sourceNamespace ? { sourceNamespace: m.sourceNamespace } : {}),
    };
    return match;
  });
}

function translateVsRoute(r: IstioHttpRoute, namespace: string, ctx: IstioContext, src: SourcedResource, path: Path, report: Reporter): VsRouteIR | undefined {
  const actions = [r.route?.length && 'route', r.redirect && 'redirect', r.directResponse && 'directResponse'].filter(Boolean);
  if (actions.length !== 1) {
    report.add('error', src, path, actions.length ? `has ${actions.join(' and ')}: a route has exactly one of route, redirect, directResponse` : 'needs one of route, redirect, directResponse');
    return undefined;
  }
  const matches = translateVsMatches(r.match ?? [], src, path, report);
  const destination = (d: IstioDestination, at: Path, weight: number, consequence: string): VsDestinationIR => {
    const svc = serviceForIstioHost(d.host, namespace, ctx.services);
    const invalid = (reason: string): VsDestinationIR => {
      report.add('warning', src, at, `${reason}; ${consequence}`);
      return { kind: 'invalid', reason, weight };
    };
    if (!svc) return invalid(`host ${JSON.stringify(d.host)} names no Service in the config`);
    const port = d.port?.number;
    if (port !== undefined && !svc.ports.some((p) => p.port === port)) return invalid(`Service ${svc.key} has no port ${port}`);
    if (d.subset && !ctx.subsets.get(svc.key)?.has(d.subset)) return invalid(`no DestinationRule defines subset ${JSON.stringify(d.subset)} for Service ${svc.key}`);
    return { kind: 'service', service: svc.key, port, ...(d.subset ? { subset: d.subset } : {}), weight };
  };
  let action: VsRouteIR['action'];
  if (r.route?.length) {
    const single = r.route.length === 1;
    action = {
      kind: 'route',
      destinations: r.route.map((d, di) => {
        const dest = destination(d.destination, [...path, 'route', di, 'destination'], d.weight ?? (single ? 100 : 0), 'requests for it get 503 (cluster not found)');
        if (dest.kind !== 'service') return dest;
        const req = headerOps(d.headers?.request);
        const res = headerOps(d.headers?.response);
        return { ...dest, ...(req ? { requestHeaders: req } : {}), ...(res ? { responseHeaders: res } : {}) };
      }),
    };
  } else if (r.redirect) {
    const rd = r.redirect;
    if (rd.port !== undefined && rd.derivePort) report.add('error', src, [...path, 'redirect'], 'port and derivePort exclude each other');
    const scheme = rd.scheme?.toLowerCase();
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') report.add('error', src, [...path, 'redirect', 'scheme'], `must be http or https (got ${JSON.stringify(rd.scheme)})`);
    action = {
      kind: 'redirect',
      redirect: {
        statusCode: rd.redirectCode ?? 301,
        ...(rd.derivePort === 'FROM_REQUEST_PORT' ? { portFromRoute: true } : {}),
        ...(scheme === 'http' || scheme === 'https' ? { scheme } : {}),
        ...(rd.authority ? { hostname: rd.authority } : {}),
        ...(rd.port ? { port: rd.port } : {}),
        ...(rd.uri ? { path: { type: 'ReplaceFullPath' as const, value: rd.uri } } : {}),
      },
    };
  } else {
    const d = r.directResponse!;
    action = { kind: 'direct', status: d.status, body: d.body?.string ?? (d.body?.bytes ? Buffer.from(d.body.bytes, 'base64').toString('latin1') : '') };
  }
  if (r.rewrite?.uriRegexRewrite) {
    if (r.rewrite.uri !== undefined) report.add('error', src, [...path, 'rewrite'], 'uri and uriRegexRewrite exclude each other');
    const err = compileRegex(r.rewrite.uriRegexRewrite.match).error;
    if (err) report.add('error', src, [...path, 'rewrite', 'uriRegexRewrite', 'match'], err);
  }
  const mirrors: MirrorIR[] = [];
  const mirrorTo = (d: IstioDestination, at: Path, percent: number | undefined) => {
    const m = destination(d, at, 1, 'requests are not mirrored there');
    if (m.kind !== 'service') return;
    const svc = ctx.services.get(m.service)!;
    mirrors.push({ service: m.service, port: m.port ?? svc.ports[0]!.port, fraction: (percent ?? 100) / 100 });
  };
  if (r.mirror) mirrorTo(r.mirror, [...path, 'mirror'], r.mirrorPercentage?.value ?? r.mirrorPercent);
  (r.mirrors ?? []).forEach((m, i) => mirrorTo(m.destination, [...path, 'mirrors', i, 'destination'], m.percentage?.value));
  // An unset percentage is 0%: Istio injects such a fault into no request (istio/api#2522 says so after
  // istio/istio#36303), though older docs promised all of them; the warning says which.
  const unsetPercentage = (kind: 'delay' | 'abort') =>
    report.add('warning', src, [...path, 'fault', kind], `has no percentage, so Istio ${kind === 'delay' ? 'delays' : 'aborts'} no request (unset means 0%); give percentage: { value: 100 } for every request`);
  if (r.fault?.delay?.fixedDelay && r.fault.delay.percentage === undefined && r.fault.delay.percent === undefined) unsetPercentage('delay');
  if (r.fault?.abort && r.fault.abort.percentage === undefined) unsetPercentage('abort');
  if (r.retries && r.retries.attempts === undefined && (r.retries.perTryTimeout || r.retries.retryOn || r.retries.backoff)) {
    report.add('warning', src, [...path, 'retries'], 'has no attempts, so Istio does not retry this route and its other retry settings have no effect; give attempts');
  }
  const fault = r.fault
    ? {
        ...(r.fault.delay?.fixedDelay ? { delay: { ms: istioDurationMs(r.fault.delay.fixedDelay), fraction: (r.fault.delay.percentage?.value ?? r.fault.delay.percent ?? 0) / 100 } } : {}),
        ...(r.fault.abort && (r.fault.abort.httpStatus !== undefined || r.fault.abort.grpcStatus !== undefined)
          ? {
              abort: {
                fraction: (r.fault.abort.percentage?.value ?? 0) / 100,
                ...(r.fault.abort.httpStatus !== undefined ? { httpStatus: r.fault.abort.httpStatus } : {}),
                ...(r.fault.abort.grpcStatus !== undefined ? { grpcStatus: GRPC_CODES[r.fault.abort.grpcStatus] ?? 2 } : {}),
              },
            }
          : {}),
      }
    : undefined;
  if (r.fault?.abort?.grpcStatus !== undefined && GRPC_CODES[r.fault.abort.grpcStatus] === undefined) {
    report.add('error', src, [...path, 'fault', 'abort', 'grpcStatus'], `not a gRPC status name: ${JSON.stringify(r.fault.abort.grpcStatus)}`);
  }
  const requestHeaders = headerOps(r.headers?.request);
  const responseHeaders = headerOps(r.headers?.response);
  const c = r.corsPolicy;
  const cors: CorsIR | undefined = c
    ? {
        allowOrigins: [...(c.allowOrigins ?? []).map(stringMatch), ...(c.allowOrigin ?? []).map((o) => (o === '*' ? { type: 'regex' as const, value: '.*' } : { type: 'exact' as const, value: o }))],
        allowMethods: c.allowMethods ?? [],
        allowHeaders: c.allowHeaders ?? [],
        exposeHeaders: c.exposeHeaders ?? [],
        ...(c.maxAge !== undefined ? { maxAgeSeconds: Math.round(istioDurationMs(c.maxAge) / 1000) } : {}),
        allowCredentials: c.allowCredentials ?? false,
        forwardUnmatchedPreflights: c.unmatchedPreflights !== 'IGNORE',
      }
    : undefined;
  (c?.allowOrigins ?? []).forEach((o, i) => {
    const err = o.regex !== undefined ? compileRegex(o.regex).error : undefined;
    if (err) report.add('error', src, [...path, 'corsPolicy', 'allowOrigins', i, 'regex'], err);
  });
  const timeoutMs = r.timeout !== undefined ? istioDurationMs(r.timeout) : undefined;
  return {
    ...(r.name ? { name: r.name } : {}),
    matches,
    action,
    ...(r.rewrite ? { rewrite: { ...(r.rewrite.uri !== undefined ? { uri: r.rewrite.uri } : {}), ...(r.rewrite.authority ? { authority: r.rewrite.authority } : {}), ...(r.rewrite.uriRegexRewrite ? { uriRegex: r.rewrite.uriRegexRewrite } : {}) } } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(r.retries ? { retry: vsRetry(r.retries) } : {}),
    ...(fault && (fault.delay || fault.abort) ? { fault } : {}),
    ...(cors ? { cors } : {}),
    mirrors,
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
  };
}

function loadBalancer(lb: IstioLoadBalancer | undefined): LoadBalancerIR | undefined {
  if (!lb) return undefined;
  const out: LoadBalancerIR = {};
  const simple = lb.simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : lb.simple === 'UNSPECIFIED' ? undefined : lb.simple;
  if (simple) out.simple = simple;
  const ch = lb.consistentHash;
  if (ch) {
    const key: HashKeyIR | undefined = ch.httpHeaderName
      ? { kind: 'header', name: ch.httpHeaderName.toLowerCase() }
      : ch.httpCookie
        ? { kind: 'cookie', name: ch.httpCookie.name, ...(ch.httpCookie.path ? { path: ch.httpCookie.path } : {}), ...(ch.httpCookie.ttl ? { ttlSeconds: Math.round(istioDurationMs(ch.httpCookie.ttl) / 1000) } : {}) }
        : ch.useSourceIp
          ? { kind: 'sourceIp' }
          : ch.httpQueryParameterName
            ? { kind: 'query', name: ch.httpQueryParameterName }
            : undefined;
    if (key) {
      out.consistentHash = {
        key,
        algorithm: ch.maglev ? { kind: 'maglev', tableSize: ch.maglev.tableSize ?? 65537 } : { kind: 'ring', minimumRingSize: ch.ringHash?.minimumRingSize ?? ch.minimumRingSize ?? 1024 },
      };
    }
  }
  return out.simple || out.consistentHash ? out : undefined;
}

function trafficPolicy(p: IstioTrafficPolicy | undefined): TrafficPolicyIR {
  const one = (q: Omit<IstioTrafficPolicy, 'portLevelSettings'> | undefined) => {
    const lb = loadBalancer(q?.loadBalancer);
    return { ...(lb ? { loadBalancer: lb } : {}), ...(q?.connectionPool ? { connectionPool: q.connectionPool } : {}), ...(q?.outlierDetection ? { outlierDetection: q.outlierDetection } : {}) };
  };
  return { ...one(p), ports: (p?.portLevelSettings ?? []).map((s) => ({ port: s.port.number, policy: one(s) })) };
}

function checkConsistentHash(lb: IstioLoadBalancer | undefined, src: SourcedResource, path: Path, report: Reporter): void {
  const ch = lb?.consistentHash;
  if (!ch) return;
  const keys = [ch.httpHeaderName !== undefined, ch.httpCookie !== undefined, ch.useSourceIp !== undefined, ch.httpQueryParameterName !== undefined].filter(Boolean).length;
  if (keys !== 1) report.add('error', src, [...path, 'consistentHash'], 'needs exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName');
  if (ch.ringHash && ch.maglev) report.add('error', src, [...path, 'consistentHash'], 'ringHash and maglev exclude each other');
  if (lb.simple) report.add('error', src, path, 'simple and consistentHash exclude each other');
}

/** DestinationRules for Services in the config; of several for one Service the oldest applies, as in Istio. */
export function translateDestinationRules(sources: (SourcedResource & { resource: DestinationRule })[], services: ReadonlyMap<string, ServiceIR>, report: Reporter): DestinationRuleIR[] {
  const out: DestinationRuleIR[] = [];
  const owner = new Map<string, string>();
  const ordered = [...sources].sort(oldestFirst);
  for (const src of ordered) {
    const dr = src.resource;
    const key = `${dr.metadata.namespace}/${dr.metadata.name}`;
    const check = (p: IstioTrafficPolicy | undefined, path: Path) => {
      checkConsistentHash(p?.loadBalancer, src, [...path, 'loadBalancer'], report);
      p?.portLevelSettings?.forEach((s, i) => checkConsistentHash(s.loadBalancer, src, [...path, 'portLevelSettings', i, 'loadBalancer'], report));
    };
    check(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']);
    const names = new Set<string>();
    (dr.spec.subsets ?? []).forEach((s, i) => {
      if (names.has(s.name)) report.add('error', src, ['spec', 'subsets', i, 'name'], `duplicate subset name ${JSON.stringify(s.name)}`);
      names.add(s.name);
      check(s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']);
    });
    const svc = serviceForIstioHost(dr.spec.host, dr.metadata.namespace!, services);
    if (!svc) {
      report.add('warning', src, ['spec', 'host'], `${JSON.stringify(dr.spec.host)} names no Service in the config; it has no effect`);
      continue;
    }
    const first = owner.get(svc.key);
    if (first) {
      report.add('warning', src, ['spec', 'host'], `conflicts with DestinationRule ${first} for Service ${svc.key}; the older one applies and this one is ignored`);
      continue;
    }
    owner.set(svc.key, key);
    out.push({
      key,
      service: svc.key,
      policy: trafficPolicy(dr.spec.trafficPolicy),
      subsets: (dr.spec.subsets ?? []).map((s) => ({ name: s.name, labels: { ...s.labels }, policy: trafficPolicy(s.trafficPolicy) })),
    });
  }
  return out;
}
