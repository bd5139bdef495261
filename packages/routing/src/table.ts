import type { BackendIR, HttpRouteIR } from '@waypoint/config';
import { localReply, NO_ROUTE, type Forward, type LocalReply, type Redirect, type RouteDecision, type RuleActions, type ServiceTarget } from './decision.ts';
import { CompiledMatch } from './match.ts';
import { compareMatches, compareRoutes } from './precedence.ts';
import { QueryView, type RouteRequest } from './request.ts';

/** Weighted choice among a rule's backends, each already resolved to a decision. */
class WeightedBackends {
  readonly #choices: RouteDecision[];
  readonly #cumulative: number[];
  readonly #total: number;
  constructor(choices: { decision: RouteDecision; weight: number }[], allZero: LocalReply) {
    const kept = choices.filter((c) => c.weight > 0);
    this.#choices = kept.length ? kept.map((c) => c.decision) : [allZero];
    let sum = 0;
    this.#cumulative = kept.map((c) => (sum += c.weight));
    this.#total = sum;
  }
  pick(): RouteDecision {
    if (this.#choices.length === 1) return this.#choices[0]!;
    const r = Math.random() * this.#total;
    let i = 0;
    while (this.#cumulative[i]! <= r) i++;
    return this.#choices[i]!;
  }
}

interface Entry {
  match: CompiledMatch;
  backends: WeightedBackends;
}

export interface RuleRef {
  route: HttpRouteIR;
  ruleIndex: number;
}

/** Resolves a service backend to its target; returns undefined when the Service or port is gone. */
export type TargetLookup = (service: string, port: number) => ServiceTarget | undefined;

/** The routes of one parent (a Service port, or a Gateway virtual host), in precedence order. */
export class RouteTable {
  readonly #entries: Entry[];
  readonly #usesQuery: boolean;

  constructor(rules: readonly RuleRef[], lookup: TargetLookup) {
    const flat: { route: HttpRouteIR; ruleIndex: number; matchIndex: number }[] = [];
    const ordered = [...rules].sort((a, b) => compareRoutes(a.route, b.route));
    for (const { route, ruleIndex } of ordered) {
      route.rules[ruleIndex]!.matches.forEach((_, matchIndex) => flat.push({ route, ruleIndex, matchIndex }));
    }
    flat.sort((a, b) => compareMatches(a.route.rules[a.ruleIndex]!.matches[a.matchIndex]!, b.route.rules[b.ruleIndex]!.matches[b.matchIndex]!));
    this.#entries = flat.map(({ route, ruleIndex, matchIndex }) => {
      const rule = route.rules[ruleIndex]!;
      const match = rule.matches[matchIndex]!;
      const routeName = `${route.namespace}.${route.name}.${ruleIndex}.${matchIndex}`;
      const matchedPrefix = match.path.type === 'PathPrefix' ? match.path.value : undefined;
      const { redirect, requestHeaders, responseHeaders, rewrite } = rule.filters;
      if (redirect) {
        const decision: Redirect = { kind: 'redirect', redirect, routeName, ...(matchedPrefix ? { matchedPrefix } : {}) };
        return { match: new CompiledMatch(match), backends: new WeightedBackends([{ decision, weight: 1 }], NO_ROUTE) };
      }
      // A URLRewrite hostname is one more header to set, so it is folded into the request modifier here.
      const headers = rewrite?.hostname
        ? { set: [...(requestHeaders?.set ?? []).filter((h) => h.name !== 'host'), { name: 'host', value: rewrite.hostname }], add: requestHeaders?.add ?? [], remove: requestHeaders?.remove ?? [] }
        : requestHeaders;
      const timeoutMs = rule.timeoutMs;
      const actions: RuleActions | undefined =
        headers || responseHeaders || rewrite || timeoutMs
          ? {
              ...(headers ? { requestHeaders: headers } : {}),
              ...(responseHeaders ? { responseHeaders } : {}),
              ...(rewrite ? { rewrite } : {}),
              ...(matchedPrefix ? { matchedPrefix } : {}),
              ...(timeoutMs ? { timeoutMs } : {}),
            }
          : undefined;
      const choices = rule.backends.map((b) => ({ decision: resolveBackend(b, routeName, lookup, actions), weight: b.weight }));
      // A rule with no backends, or only zero weights, answers 500 (Gateway API; Istio does the same).
      const allZero = localReply(500, '', 'NC', 'cluster_not_found', routeName);
      return { match: new CompiledMatch(match), backends: new WeightedBackends(choices, allZero) };
    });
    this.#usesQuery = this.#entries.some((e) => e.match.usesQuery);
  }

  get size(): number {
    return this.#entries.length;
  }

  decide(req: RouteRequest): RouteDecision {
    const query = this.#usesQuery ? new QueryView(req.query) : EMPTY_QUERY;
    for (const e of this.#entries) if (e.match.matches(req, query)) return e.backends.pick();
    return NO_ROUTE;
  }
}

const EMPTY_QUERY = new QueryView('');

function resolveBackend(b: BackendIR, routeName: string, lookup: TargetLookup, actions: RuleActions | undefined): RouteDecision {
  if (b.kind === 'invalid') return localReply(500, '', 'NC', 'cluster_not_found', routeName);
  const target = lookup(b.service, b.port);
  if (!target) return localReply(500, '', 'NC', 'cluster_not_found', routeName);
  const forward: Forward = { kind: 'forward', target, routeName, ...(actions ? { actions } : {}) };
  return forward;
}
