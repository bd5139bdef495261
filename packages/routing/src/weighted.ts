import type { LocalReply, RouteDecision } from './decision.ts';

/**
 * Weighted choice among a route's backends, each already resolved to a decision; `allZero` answers when
 * no backend has weight (Gateway API: 500; a VirtualService: 503, cluster not found).
 */
export class WeightedBackends {
  /** Every backend with its weight (zero weights included), for explain. */
  readonly all: readonly { decision: RouteDecision; weight: number }[];
  readonly #choices: RouteDecision[];
  readonly #cumulative: number[];
  readonly #total: number;
  constructor(choices: { decision: RouteDecision; weight: number }[], allZero: LocalReply) {
    this.all = choices.length && choices.some((c) => c.weight > 0) ? choices : [{ decision: allZero, weight: 1 }];
    const kept = choices.filter((c) => c.weight > 0);
    this.#choices = kept.length ? kept.map((c) => c.decision) : [allZero];
    let sum = 0;
    this.#cumulative = kept.map((c) => (sum += c.weight));
    this.#total = sum;
  }
  /** The decision when there is only one to choose. */
  get only(): RouteDecision | undefined {
    return this.#choices.length === 1 ? this.#choices[0] : undefined;
  }
  pick(): RouteDecision {
    if (this.#choices.length === 1) return this.#choices[0]!;
    const r = Math.random() * this.#total;
    let i = 0;
    while (this.#cumulative[i]! <= r) i++;
    return this.#choices[i]!;
  }
}
