import type { BackendIR, HttpRouteIR } from '@waypoint/config';
import { DEFAULT_RETRY, localReply, NO_ROUTE, retryPolicy, type RetryPolicy, type Forward, type Redirect, type RouteDecision, type RuleActions, type ServiceTarget } from './decision.ts';
import { mergeHeaderModifiers, routeAndBackendHeaders, withRoutePort } from './actions.ts';
import { CompiledMatch, describeMatch, normalizedPrefix } from './match.ts';
import { WeightedBackends } from './weighted.ts';
import { corsPolicy } from './cors.ts';
import { compareMatches, compareRoutes } from './precedence.ts';
import { EMPTY_QUERY, QueryView, type RouteRequest } from './request.ts';
import { HASH_START, HashedCells, hashStep } from './string-table.ts';

/** One match of a table with what it leads to. */
class Entry extends CompiledMatch {
  /** Position in precedence order: of two matching entries, the lower index wins. */
  readonly index: number;
  readonly route: HttpRouteIR;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly backends: WeightedBackends;
  /** The decision when the rule has a single backend, read without a call. */
  readonly only: RouteDecision | undefined;
  /** The next entry with the same path value and type, in precedence order: buckets are chains, not arrays. */
  next: Entry | undefined = undefined;
  constructor(index: number, route: HttpRouteIR, ruleIndex: number, matchIndex: number, backends: WeightedBackends) {
    super(route.rules[ruleIndex]!.matches[matchIndex]!);
    this.index = index;
    this.route = route;
    this.ruleIndex = ruleIndex;
    this.matchIndex = matchIndex;
    this.backends = backends;
    this.only = backends.only;
  }
  decision(): RouteDecision {
    return this.only ?? this.backends.pick();
  }
}

/**
 * The path values of one table, each with the first of its Exact entries and the first of its PathPrefix
 * entries side by side (the others follow by `next`).
 */
class PathIndex extends HashedCells {
  constructor() {
    super(4);
  }
  /** Appends `entry` to the chain of `key` for Exact (0) or PathPrefix (1) matches; entries come in precedence order. */
  add(key: string, kind: 0 | 1, entry: Entry): void {
    const at = this.slotFor(key) + 2 + kind;
    let last = this.cells[at] as Entry | undefined;
    if (!last) {
      this.cells[at] = entry;
      return;
    }
    while (last.next) last = last.next;
    last.next = entry;
  }
  /** The slot of path value `s[0, end)` (hash computed by the caller), or -1. */
  lookup(s: string, end: number, hash: number): number {
    return this.find(s, 0, end, hash);
  }
  exactAt(slot: number): Entry | undefined {
    return this.cells[slot + 2] as Entry | undefined;
  }
  prefixAt(slot: number): Entry | undefined {
    return this.cells[slot + 3] as Entry | undefined;
  }
}

export interface RuleRef {
  route: HttpRouteIR;
  ruleIndex: number;
}

/** Resolves a service backend to its target; returns undefined when the Service or port is gone. */
export type TargetLookup = (service: string, port: number) => ServiceTarget | undefined;

/**
 * The routes of one parent (a Service port, or a Gateway virtual host), in precedence order.
 *
 * A decision must equal a scan of every match in precedence order, taking the first that holds; it is
 * found without the scan, in one walk over the path's characters. Exact paths are looked up by the whole
 * path, and precede everything else. PathPrefix matches are looked up by each element prefix of the path
 * (at each '/', and only at lengths some prefix has), each bucket in precedence order; the lowest index
 * that holds wins. Regular expressions come last in precedence, so they are tried, in order, only when
 * nothing else matched.
 */
export class RouteTable {
  readonly #size: number;
  readonly #usesQuery: boolean;
  readonly #paths = new PathIndex();
  /** prefixLength[n] is 1 when some (normalised, non-empty) PathPrefix value in #paths is n characters long. */
  readonly #prefixLength: Uint8Array;
  /** The first of the prefixes that match every path ('/'), the others chained by `next`. */
  readonly #everyPath: Entry | undefined;
  readonly #regex: Entry[] = [];
  /** Each #regex entry's required literal, side by side, so that most are ruled out without reading the entry. */
  readonly #regexLiterals: string[] = [];
  /** Every entry in precedence order, for explain. */
  readonly #ordered: Entry[] = [];
  /** Matches that can never be chosen: an earlier match in precedence order has the same conditions. */
  readonly unreachable: UnreachableMatch[] = [];

  /** `port`: the Service or listener port the table serves, for redirects that keep it. */
  constructor(rules: readonly RuleRef[], lookup: TargetLookup, port: number) {
    const flat: { route: HttpRouteIR; ruleIndex: number; matchIndex: number }[] = [];
    const ordered = [...rules].sort((a, b) => compareRoutes(a.route, b.route));
    for (const { route, ruleIndex } of ordered) {
      route.rules[ruleIndex]!.matches.forEach((_, matchIndex) => flat.push({ route, ruleIndex, matchIndex }));
    }
    flat.sort((a, b) => compareMatches(a.route.rules[a.ruleIndex]!.matches[a.matchIndex]!, b.route.rules[b.ruleIndex]!.matches[b.matchIndex]!));
    const lengths = new Set<number>();
    const everyPath: Entry[] = [];
    let usesQuery = false;
    const bySignature = new Map<string, Entry>();
    flat.forEach(({ route, ruleIndex, matchIndex }, index) => {
      const rule = route.rules[ruleIndex]!;
      const match = rule.matches[matchIndex]!;
      // A match with the same conditions as one before it in precedence order can never be chosen.
      const signature = matchSignature(match);
      const earlier = bySignature.get(signature);
      if (earlier) this.unreachable.push({ route: route.key, kind: route.kind ?? 'HTTPRoute', rule: ruleIndex, match: matchIndex, shadowedBy: { route: earlier.route.key, kind: earlier.route.kind ?? 'HTTPRoute', rule: earlier.ruleIndex, match: earlier.matchIndex } });
      const entry = new Entry(index, route, ruleIndex, matchIndex, ruleBackends(route, ruleIndex, matchIndex, lookup, port));
      this.#ordered.push(entry);
      if (!earlier) bySignature.set(signature, entry);
      usesQuery ||= entry.usesQuery;
      const { type, value } = match.path;
      if (type === 'Exact') this.#paths.add(value, 0, entry);
      else if (type === 'RegularExpression') {
        this.#regex.push(entry);
        this.#regexLiterals.push(entry.pathLiteral);
      }
      else {
        const prefix = normalizedPrefix(value);
        if (prefix === '') everyPath.push(entry);
        else {
          this.#paths.add(prefix, 1, entry);
          lengths.add(prefix.length);
        }
      }
    });
    for (let i = 1; i < everyPath.length; i++) everyPath[i - 1]!.next = everyPath[i];
    this.#everyPath = everyPath[0];
    this.#size = flat.length;
    this.#usesQuery = usesQuery;
    this.#prefixLength = new Uint8Array(Math.max(0, ...lengths) + 1);
    for (const n of lengths) this.#prefixLength[n] = 1;
  }

  get size(): number {
    return this.#size;
  }

  decide(req: RouteRequest): RouteDecision {
    const query = this.#usesQuery ? new QueryView(req.query) : EMPTY_QUERY;
    const path = req.path;
    const n = path.length;
    const lengths = this.#prefixLength;
    const longest = lengths.length - 1;
    const paths = this.#paths;
    let best: Entry | undefined;
    let h = HASH_START;
    for (let i = 0; i < n; i++) {
      const c = path.charCodeAt(i);
      // At a '/', h is the hash of the element prefix before it.
      if (c === 47 && i > 0 && i <= longest && lengths[i] === 1) {
        const slot = paths.lookup(path, i, h);
        const chain = slot < 0 ? undefined : paths.prefixAt(slot);
        if (chain) best = firstInChain(chain, req, query, best);
      }
      h = hashStep(h, c);
    }
    // The whole path: its Exact matches precede everything, then it is one more element prefix.
    const slot = paths.lookup(path, n, h);
    if (slot >= 0) {
      for (let e = paths.exactAt(slot); e; e = e.next) if (e.matchesBesidesPath(req, query)) return e.decision();
      const chain = paths.prefixAt(slot);
      if (chain) best = firstInChain(chain, req, query, best);
    }
    if (this.#everyPath) best = firstInChain(this.#everyPath, req, query, best);
    if (best) return best.decision();
    const literals = this.#regexLiterals;
    for (let i = 0; i < literals.length; i++) {
      const literal = literals[i]!;
      if (literal !== '' && !path.includes(literal)) continue;
      const e = this.#regex[i]!;
      if (e.matches(req, query)) return e.decision();
    }
    return NO_ROUTE;
  }

  /** The scan `decide` stands for, reported match by match. */
  explain(req: RouteRequest): { candidates: CandidateTrace[]; backends: readonly { decision: RouteDecision; weight: number }[] } {
    const query = new QueryView(req.query);
    let chosen: Entry | undefined;
    const candidates = this.#ordered.map((e): CandidateTrace => {
      const why = chosen ? undefined : e.mismatch(req, query);
      const result = chosen ? 'not reached' : why ? `lost: ${why}` : 'chosen';
      if (!chosen && !why) chosen = e;
      return {
        route: e.route.key,
        kind: e.route.kind ?? 'HTTPRoute',
        rule: e.ruleIndex,
        match: e.matchIndex,
        condition: describeMatch(e.route.rules[e.ruleIndex]!.matches[e.matchIndex]!),
        result,
      };
    });
    return { candidates, backends: chosen ? chosen.backends.all : [{ decision: NO_ROUTE, weight: 1 }] };
  }
}

export interface MatchRef {
  route: string;
  kind: 'HTTPRoute' | 'GRPCRoute';
  rule: number;
  match: number;
}

export interface UnreachableMatch extends MatchRef {
  shadowedBy: MatchRef;
}

/** `HTTPRoute ns/b rule 1 match 0 can never be chosen for Service ns/x port 80: HTTPRoute ns/a rule 0 match 0 has the same conditions and precedes it` */
export function describeUnreachable(parent: string, u: UnreachableMatch): string {
  const ref = (m: MatchRef) => `${m.kind} ${m.route} rule ${m.rule} match ${m.match}`;
  return `${ref(u)} can never be chosen for ${parent}: ${ref(u.shadowedBy)} has the same conditions and precedes it`;
}

/** The conditions of a match, normalised: two matches with one signature take exactly the same requests. */
function matchSignature(m: HttpRouteIR['rules'][number]['matches'][number]): string {
  const path = m.path.type === 'PathPrefix' ? `P${normalizedPrefix(m.path.value)}` : `${m.path.type[0]}${m.path.value}`;
  const values = (list: { type: string; name: string; value: string }[]) => list.map((v) => `${v.name}\u0000${v.type}\u0000${v.value}`).sort().join('\u0001');
  return [path, m.method ?? '', values(m.headers), values(m.queryParams)].join('\u0002');
}

/** One match of a table, as explain reports it. */
export interface CandidateTrace {
  route: string;
  kind: 'HTTPRoute' | 'GRPCRoute' | 'VirtualService';
  rule: number;
  match: number;
  condition: string;
  /** 'chosen', 'lost: <why>', or 'not reached' (an earlier match was chosen). */
  result: string;
}

/** The first entry of the chain from `first` that holds, if it precedes `best`; else `best`. */
function firstInChain(first: Entry, req: RouteRequest, query: QueryView, best: Entry | undefined): Entry | undefined {
  for (let e: Entry | undefined = first; e; e = e.next) {
    if (best && e.index > best.index) return best;
    if (e.matchesBesidesPath(req, query)) return e;
  }
  return best;
}

/** What one match of a rule leads to: its filters applied to each weighted backend. */
function ruleBackends(route: HttpRouteIR, ruleIndex: number, matchIndex: number, lookup: TargetLookup, port: number): WeightedBackends {
  const rule = route.rules[ruleIndex]!;
  const match = rule.matches[matchIndex]!;
  const routeName = `${route.namespace}.${route.name}.${ruleIndex}.${matchIndex}`;
  const matchedPrefix = match.path.type === 'PathPrefix' ? match.path.value : undefined;
  const { redirect, requestHeaders, responseHeaders, rewrite } = rule.filters;
  if (redirect) {
    const decision: Redirect = { kind: 'redirect', redirect: withRoutePort(redirect, port), routeName, ...(matchedPrefix ? { matchedPrefix } : {}) };
    return new WeightedBackends([{ decision, weight: 1 }], NO_ROUTE);
  }
  // A URLRewrite hostname is one more header to set, so it is folded into the request modifier here.
  const headers = rewrite?.hostname ? mergeHeaderModifiers(requestHeaders, { set: [{ name: 'host', value: rewrite.hostname }], add: [], remove: [] }) : requestHeaders;
  const timeoutMs = rule.timeoutMs;
  const mirrors = (rule.filters.mirrors ?? []).flatMap((m) => {
    const target = m.fraction > 0 ? lookup(m.service, m.port) : undefined;
    return target ? [{ target, fraction: m.fraction }] : [];
  });
  const cors = rule.filters.cors ? corsPolicy(rule.filters.cors) : undefined;
  const actions: RuleActions | undefined =
    headers || responseHeaders || rewrite || timeoutMs || mirrors.length || cors
      ? {
          ...(cors ? { cors } : {}),
          ...(mirrors.length ? { mirrors } : {}),
          ...(headers ? { requestHeaders: headers } : {}),
          ...(responseHeaders ? { responseHeaders } : {}),
          ...(rewrite ? { rewrite } : {}),
          ...(matchedPrefix ? { matchedPrefix } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        }
      : undefined;
  const retry = rule.retry ? retryPolicy(rule.retry) : DEFAULT_RETRY;
  // Istio drops weight-0 backends; with more than one left, Envoy gets weighted clusters.
  const weighted = rule.backends.filter((b) => b.weight > 0).length > 1;
  const choices = rule.backends.map((b) => ({ decision: resolveBackend(b, routeName, lookup, actions, retry, weighted), weight: b.weight }));
  // A rule with no backends, or only zero weights, answers 500 (Gateway API; Istio does the same).
  const allZero = localReply(500, '', 'NC', 'cluster_not_found', routeName);
  return new WeightedBackends(choices, allZero);
}


function resolveBackend(b: BackendIR, routeName: string, lookup: TargetLookup, actions: RuleActions | undefined, retry: RetryPolicy, weighted: boolean): RouteDecision {
  if (b.kind === 'invalid') return localReply(500, '', 'NC', 'cluster_not_found', routeName);
  const target = lookup(b.service, b.port);
  if (!target) return localReply(500, '', 'NC', 'cluster_not_found', routeName);
  // A backendRef's own header filters combine with the rule's as Istio's Envoy combines them.
  let own = actions;
  if (b.requestHeaders || b.responseHeaders) {
    const requestHeaders = routeAndBackendHeaders(actions?.requestHeaders, b.requestHeaders, weighted);
    const responseHeaders = routeAndBackendHeaders(actions?.responseHeaders, b.responseHeaders, weighted);
    own = { ...actions, ...(requestHeaders ? { requestHeaders } : {}), ...(responseHeaders ? { responseHeaders } : {}) };
  }
  const forward: Forward = { kind: 'forward', target, routeName, retry, ...(own ? { actions: own } : {}) };
  return forward;
}
