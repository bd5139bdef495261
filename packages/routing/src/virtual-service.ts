/**
 * Istio VirtualService routing for one Service port: http routes in order, the first route with a match
 * that holds wins (no precedence sorting, unlike Gateway API). A request no route takes gets 404.
 */
import { regexTest, type HeaderModifierIR, type IstioStringMatchIR, type VirtualServiceIR, type VsMatchIR, type VsRouteIR } from '@waypoint/config';
import { DEFAULT_RETRY, localReply, NO_ROUTE, retryPolicy, type Forward, type Redirect, type RouteDecision, type RuleActions, type ServiceTarget } from './decision.ts';
import { mergeHeaderModifiers, routeAndBackendHeaders, withRoutePort } from './actions.ts';
import { corsPolicy } from './cors.ts';
import { EMPTY_QUERY, headerValue, QueryView, type RouteRequest } from './request.ts';
import { WeightedBackends } from './weighted.ts';
import type { CandidateTrace } from './table.ts';

type Test = (v: string) => boolean;

function stringTest(m: IstioStringMatchIR, ignoreCase = false): Test {
  if (m.type === 'present') return () => true;
  if (m.type === 'regex') return regexTest(m.value);
  const expected = ignoreCase ? m.value.toLowerCase() : m.value;
  if (m.type === 'exact') return ignoreCase ? (v) => v.toLowerCase() === expected : (v) => v === expected;
  return ignoreCase ? (v) => v.toLowerCase().startsWith(expected) : (v) => v.startsWith(expected);
}

const describe = (m: IstioStringMatchIR) => (m.type === 'present' ? 'present' : `${m.type} ${JSON.stringify(m.value)}`);

/** The namespace in a SPIFFE ID `spiffe://<td>/ns/<ns>/sa/<sa>`. */
function namespaceOf(principal: string | undefined): string | undefined {
  if (!principal) return undefined;
  const at = principal.indexOf('/ns/');
  if (at < 0) return undefined;
  const end = principal.indexOf('/', at + 4);
  return principal.slice(at + 4, end < 0 ? undefined : end);
}

/** One VirtualService match, compiled for one Service port. */
class VsMatch {
  readonly ir: VsMatchIR;
  readonly #checks: { what: string; test: (req: RouteRequest, query: QueryView) => string | undefined }[] = [];
  readonly usesQuery: boolean;

  constructor(m: VsMatchIR, port: number) {
    this.ir = m;
    const add = (what: string, test: (req: RouteRequest, query: QueryView) => string | undefined) => this.#checks.push({ what, test });
    if (m.port !== undefined && m.port !== port) add(`port ${m.port}`, () => `the request is for port ${port}, not ${m.port}`);
    if (m.scheme && !stringTest(m.scheme)('http')) add(`scheme ${describe(m.scheme)}`, () => 'the scheme is http');
    if (m.uri) {
      const t = stringTest(m.uri, m.ignoreUriCase && m.uri.type !== 'regex');
      add(`uri ${describe(m.uri)}${m.ignoreUriCase ? ' (any case)' : ''}`, (req) => (t(req.path) ? undefined : `uri ${JSON.stringify(req.path)} is not ${describe(m.uri!)}`));
    }
    if (m.method) {
      const t = stringTest(m.method);
      add(`method ${describe(m.method)}`, (req) => (t(req.method) ? undefined : `method ${req.method} is not ${describe(m.method!)}`));
    }
    if (m.authority) {
      const t = stringTest(m.authority);
      add(`authority ${describe(m.authority)}`, (req) => {
        const v = headerValue(req.headers, 'host') ?? headerValue(req.headers, ':authority') ?? '';
        return t(v) ? undefined : `authority ${JSON.stringify(v)} is not ${describe(m.authority!)}`;
      });
    }
    for (const h of m.headers) {
      const t = stringTest(h.match);
      add(`header ${h.name} ${describe(h.match)}`, (req) => {
        const v = headerValue(req.headers, h.name);
        if (v === undefined) return `header ${h.name} is absent`;
        return t(v) ? undefined : `header ${h.name}: ${JSON.stringify(v)} is not ${describe(h.match)}`;
      });
    }
    for (const h of m.withoutHeaders) {
      const t = stringTest(h.match);
      add(`without header ${h.name} ${describe(h.match)}`, (req) => {
        const v = headerValue(req.headers, h.name);
        return v !== undefined && t(v) ? `header ${h.name}: ${JSON.stringify(v)} is ${describe(h.match)} (withoutHeaders)` : undefined;
      });
    }
    for (const q of m.queryParams) {
      const t = stringTest(q.match);
      add(`query ${q.name} ${describe(q.match)}`, (_req, query) => {
        const v = query.get(q.name);
        if (v === null) return `query parameter ${q.name} is absent`;
        return t(v) ? undefined : `query parameter ${q.name}: ${JSON.stringify(v)} is not ${describe(q.match)}`;
      });
    }
    if (m.sourceNamespace) {
      add(`source namespace ${m.sourceNamespace}`, (req) => {
        const ns = namespaceOf(req.sourcePrincipal);
        return ns === m.sourceNamespace ? undefined : ns ? `the source namespace is ${ns}` : 'the source namespace is unknown (no HBONE peer identity)';
      });
    }
    this.usesQuery = m.queryParams.length > 0;
  }

  get description(): string {
    return this.#checks.map((c) => c.what).join(', ') || 'any request';
  }

  /** The first condition that fails, or undefined when the match holds. */
  mismatch(req: RouteRequest, query: QueryView): string | undefined {
    for (const c of this.#checks) {
      const why = c.test(req, query);
      if (why !== undefined) return why;
    }
    return undefined;
  }
}

/** Resolves a VirtualService destination (the request's port when it names none) to a target; undefined when the Service, port or subset is gone. */
export type VsTargetLookup = (service: string, port: number, subset: string | undefined) => ServiceTarget | undefined;

interface VsEntry {
  vs: VirtualServiceIR;
  routeIndex: number;
  matchIndex: number;
  match: VsMatch | undefined;
  /** The route's destinations, each with its weight. */
  backends: WeightedBackends;
}

export class VsTable {
  readonly #entries: VsEntry[] = [];
  readonly #usesQuery: boolean;

  constructor(vs: VirtualServiceIR, port: number, lookup: VsTargetLookup) {
    vs.routes.forEach((route, routeIndex) => {
      const matches = route.matches.length ? route.matches.map((m) => new VsMatch(m, port)) : [undefined];
      matches.forEach((match, matchIndex) => {
        const routeName = `${vs.namespace}.${vs.name}.${route.name ?? routeIndex}.${matchIndex}`;
        const choices = decisionsFor(route, match?.ir, routeName, port, lookup);
        this.#entries.push({ vs, routeIndex, matchIndex, match, backends: new WeightedBackends(choices, localReply(503, '', 'NC', 'cluster_not_found', routeName)) });
      });
    });
    this.#usesQuery = this.#entries.some((e) => e.match?.usesQuery);
  }

  decide(req: RouteRequest): RouteDecision {
    const query = this.#usesQuery ? new QueryView(req.query) : EMPTY_QUERY;
    for (const e of this.#entries) if (!e.match || e.match.mismatch(req, query) === undefined) return e.backends.pick();
    return NO_ROUTE;
  }

  explain(req: RouteRequest): { candidates: CandidateTrace[]; backends: readonly { decision: RouteDecision; weight: number }[] } {
    const query = new QueryView(req.query);
    let chosen: VsEntry | undefined;
    const candidates = this.#entries.map((e): CandidateTrace => {
      const why = chosen ? undefined : e.match?.mismatch(req, query);
      const result = chosen ? 'not reached' : why ? `lost: ${why}` : 'chosen';
      if (!chosen && !why) chosen = e;
      const name = e.vs.routes[e.routeIndex]!.name;
      return { route: e.vs.key, kind: 'VirtualService', rule: e.routeIndex, match: e.matchIndex, condition: `${name ? `${name}: ` : ''}${e.match?.description ?? 'any request'}`, result };
    });
    return { candidates, backends: chosen ? chosen.backends.all : [{ decision: NO_ROUTE, weight: 1 }] };
  }
}


/** What a route does for requests its match takes: one decision per destination, or the redirect or direct response. */
function decisionsFor(route: VsRouteIR, match: VsMatchIR | undefined, routeName: string, port: number, lookup: VsTargetLookup): { decision: RouteDecision; weight: number }[] {
  const action = route.action;
  if (action.kind === 'direct') return [{ decision: localReply(action.status, action.body, '-', 'direct_response', routeName), weight: 1 }];
  if (action.kind === 'redirect') {
    const redirect: Redirect = { kind: 'redirect', redirect: withRoutePort(action.redirect, port), routeName };
    return [{ decision: redirect, weight: 1 }];
  }
  const retry = route.retry ? retryPolicy(route.retry) : DEFAULT_RETRY;
  const rw = route.rewrite;
  const path = rw?.uriRegex
    ? { type: 'RegexRewrite' as const, pattern: rw.uriRegex.match, substitution: rw.uriRegex.rewrite }
    : rw?.uri !== undefined
      ? // Istio sets Envoy's prefix_rewrite: it replaces what the route matched, the prefix of a prefix
        // match, the whole path of an exact or regex one, and the leading '/' of a route with no uri match.
        match?.uri === undefined || match.uri.type === 'prefix'
        ? { type: 'ReplacePlainPrefix' as const, prefix: match?.uri?.value ?? '/', value: rw.uri }
        : { type: 'ReplaceFullPath' as const, value: rw.uri }
      : undefined;
  const hostSet: HeaderModifierIR | undefined = rw?.authority ? { set: [{ name: 'host', value: rw.authority }], add: [], remove: [] } : undefined;
  const mirrors = route.mirrors.flatMap((m) => {
    const target = m.fraction > 0 ? lookup(m.service, m.port, undefined) : undefined;
    return target ? [{ target, fraction: m.fraction }] : [];
  });
  const cors = route.cors ? corsPolicy(route.cors) : undefined;
  // More than one destination: Envoy gets weighted clusters (Istio makes one cluster only of a lone destination).
  const weighted = action.destinations.length > 1;
  return action.destinations.map((d) => {
    if (d.kind === 'invalid') return { decision: localReply(503, '', 'NC', 'cluster_not_found', routeName), weight: d.weight };
    const target = lookup(d.service, d.port ?? port, d.subset);
    if (!target) return { decision: localReply(503, '', 'NC', 'cluster_not_found', routeName), weight: d.weight };
    const requestHeaders = mergeHeaderModifiers(routeAndBackendHeaders(route.requestHeaders, d.requestHeaders, weighted), hostSet);
    const responseHeaders = routeAndBackendHeaders(route.responseHeaders, d.responseHeaders, weighted);
    const actions: RuleActions = {
      ...(requestHeaders ? { requestHeaders } : {}),
      ...(responseHeaders ? { responseHeaders } : {}),
      ...(path ? { rewrite: { path } } : {}),
      ...(route.timeoutMs ? { timeoutMs: route.timeoutMs } : {}),
      ...(route.fault ? { fault: route.fault } : {}),
      ...(cors ? { cors } : {}),
      ...(mirrors.length ? { mirrors } : {}),
    };
    const forward: Forward = { kind: 'forward', target, routeName, retry, ...(Object.keys(actions).length ? { actions } : {}) };
    return { decision: forward, weight: d.weight };
  });
}
