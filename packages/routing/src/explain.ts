import type { EndpointIR, PathModifierIR } from '@waypoint/config';
import { redirectLocation } from './actions.ts';
import type { RetryPolicy, RouteDecision } from './decision.ts';
import type { CandidateTrace } from './table.ts';

/** Why a request goes where it goes: the table chosen, every match tried, and the backends of the winner. */
export interface DecisionTrace {
  request: { method: string; host: string | undefined; path: string; query: string };
  /** How the route table was selected (listener, Service or Gateway virtual host). */
  selection: string[];
  candidates: CandidateTrace[];
  /** The chosen rule's backends; one is picked per request by weight. */
  backends: BackendTrace[];
}

export interface BackendTrace {
  weight: number;
  /** Share of requests, 0–1. */
  share: number;
  outcome: string;
  routeName: string;
  filters: string[];
  endpoints?: { address: string; ready: boolean; pod?: string }[];
  loadBalancing?: string;
  retry?: string;
}

function describeRetry(r: RetryPolicy): string {
  if (r.numRetries === 0) return 'none';
  const on = [r.connectFailure && 'connect-failure', r.refusedStream && 'refused-stream', r.reset && 'reset', r.statuses.size && `status ${[...r.statuses].join(',')}`, r.grpcStatuses.size && `grpc-status ${[...r.grpcStatuses].join(',')}`].filter(Boolean);
  return `${r.numRetries} retries on ${on.join(', ')}; back-off ${r.backoffBaseMs} ms base, ${r.backoffMaxMs} ms cap; another host each time`;
}

const endpointList = (eps: readonly EndpointIR[]) => eps.map((e) => ({ address: `${e.address}:${e.port}`, ready: e.ready, ...(e.pod ? { pod: e.pod } : {}) }));

function describePathModifier(p: PathModifierIR): string {
  switch (p.type) {
    case 'RegexRewrite':
      return `regex ${JSON.stringify(p.pattern)} → ${JSON.stringify(p.substitution)}`;
    case 'ReplacePlainPrefix':
      return `prefix ${JSON.stringify(p.prefix)} → ${JSON.stringify(p.value)}`;
    default:
      return `${p.type} ${p.value}`;
  }
}

/** One backend of the chosen rule, resolved as the proxy would act on it. */
export function traceBackend(decision: RouteDecision, weight: number, total: number, req: DecisionTrace['request'], hostName: string, port: number | undefined): BackendTrace {
  const base = { weight, share: total > 0 ? weight / total : 0, routeName: decision.routeName };
  switch (decision.kind) {
    case 'local':
      return { ...base, outcome: `local reply ${decision.status}${decision.body ? ` ${JSON.stringify(decision.body)}` : ''} (${decision.flag}, ${decision.details})`, filters: [] };
    case 'redirect': {
      const location = redirectLocation(decision.redirect, { scheme: 'http', hostName, port, path: req.path, query: req.query }, decision.matchedPrefix);
      return { ...base, outcome: `redirect ${decision.redirect.statusCode} to ${location}`, filters: ['RequestRedirect'] };
    }
    case 'direct':
      return { ...base, outcome: `straight to workload ${decision.endpoint.address}:${decision.endpoint.port} (${decision.clusterName})`, filters: [], retry: describeRetry(decision.retry) };
    case 'forward': {
      const a = decision.actions;
      const filters: string[] = [];
      if (a?.requestHeaders) filters.push(`request headers: set ${a.requestHeaders.set.map((h) => h.name).join(',') || '-'}, add ${a.requestHeaders.add.map((h) => h.name).join(',') || '-'}, remove ${a.requestHeaders.remove.join(',') || '-'}`);
      if (a?.responseHeaders) filters.push(`response headers: set ${a.responseHeaders.set.map((h) => h.name).join(',') || '-'}, add ${a.responseHeaders.add.map((h) => h.name).join(',') || '-'}, remove ${a.responseHeaders.remove.join(',') || '-'}`);
      if (a?.rewrite?.path) filters.push(`rewrite path: ${describePathModifier(a.rewrite.path)}`);
      if (a?.rewrite?.hostname) filters.push(`rewrite host: ${a.rewrite.hostname}`);
      for (const m of a?.mirrors ?? []) filters.push(`mirror ${Math.round(m.fraction * 10000) / 100}% to ${m.target.clusterName}`);
      if (a?.timeoutMs) filters.push(`timeout ${a.timeoutMs} ms`);
      if (a?.fault?.delay) filters.push(`fault: delay ${a.fault.delay.ms} ms for ${Math.round(a.fault.delay.fraction * 10000) / 100}% of requests`);
      if (a?.fault?.abort) filters.push(`fault: abort with ${a.fault.abort.httpStatus ?? `grpc-status ${a.fault.abort.grpcStatus}`} for ${Math.round(a.fault.abort.fraction * 10000) / 100}% of requests`);
      const t = decision.target;
      const ready = t.endpoints.size;
      const key = t.hash;
      const keyed = key ? ` keyed by ${key.kind === 'sourceIp' ? 'the source IP' : `${key.kind} ${key.name}`}` : '';
      return {
        ...base,
        outcome: `forward to Service ${t.service.key} port ${t.port.port}${t.subset ? ` subset ${t.subset}` : ''} (${t.clusterName}), ${t.http2 ? 'HTTP/2 (h2c)' : 'HTTP/1.1'} upstream`,
        filters,
        endpoints: endpointList(t.port.endpoints),
        loadBalancing: ready ? `${t.endpoints.policy}${keyed} over ${ready} ready endpoint${ready === 1 ? '' : 's'}${t.subset ? ' of the subset' : ''}` : 'no ready endpoint: 503 no healthy upstream (UH)',
        retry: describeRetry(decision.retry),
      };
    }
  }
}

/** The trace as lines of text, for the `explain` command and the admin API. */
export function formatTrace(t: DecisionTrace): string[] {
  const out = [`request: ${t.request.method} ${t.request.host ?? '(no host)'} ${t.request.path}${t.request.query ? `?${t.request.query}` : ''}`];
  for (const s of t.selection) out.push(`table: ${s}`);
  if (t.candidates.length) {
    out.push('matches in precedence order:');
    t.candidates.forEach((c, i) => out.push(`  ${String(i + 1).padStart(2)}. ${c.kind}/${c.route} rule ${c.rule} match ${c.match} [${c.condition}]: ${c.result}`));
  }
  out.push(t.backends.length > 1 ? 'backends (one picked per request by weight):' : 'decision:');
  for (const b of t.backends) {
    out.push(`  ${t.backends.length > 1 ? `weight ${b.weight} (${Math.round(b.share * 1000) / 10}%): ` : ''}${b.outcome} [route ${b.routeName}]`);
    for (const f of b.filters) out.push(`    filter: ${f}`);
    if (b.retry) out.push(`    retry: ${b.retry}`);
    if (b.loadBalancing) out.push(`    endpoints: ${b.loadBalancing}${b.endpoints?.length ? `: ${b.endpoints.map((e) => `${e.address}${e.ready ? '' : ' (not ready)'}`).join(', ')}` : ''}`);
  }
  return out;
}
