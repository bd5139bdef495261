import type { HttpMatchIR, HttpRouteIR } from '@waypoint/config';

/** Routes in Gateway API tie-break order: oldest creationTimestamp first, then namespace/name. */
export function compareRoutes(a: HttpRouteIR, b: HttpRouteIR): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (!Number.isNaN(ta) || !Number.isNaN(tb)) {
    if (Number.isNaN(ta)) return 1;
    if (Number.isNaN(tb)) return -1;
    if (ta !== tb) return ta - tb;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

const created = new WeakMap<HttpRouteIR, number>();

/** A route's creationTimestamp in ms (NaN when unset or unreadable), parsed once per route: tables sort by it many times. */
function createdAt(route: HttpRouteIR): number {
  let t = created.get(route);
  if (t === undefined) created.set(route, (t = route.creationTimestamp ? Date.parse(route.creationTimestamp) : Number.NaN));
  return t;
}

const PATH_RANK = { Exact: 3, PathPrefix: 2, RegularExpression: 1 } as const;

/**
 * Match precedence, as Istio orders HTTPRoute matches: Exact > PathPrefix > RegularExpression, then longer
 * path value, then a method match, then more header matches, then more query matches. Used with a stable
 * sort over matches already in route order, so ties keep route, rule and match order.
 */
export function compareMatches(a: HttpMatchIR, b: HttpMatchIR): number {
  return (
    PATH_RANK[b.path.type] - PATH_RANK[a.path.type] ||
    b.path.value.length - a.path.value.length ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length ||
    b.queryParams.length - a.queryParams.length
  );
}
