import type { HttpMatchIR, HttpRouteIR } from '@waypoint/config';

/** Routes in Gateway API tie-break order: oldest creationTimestamp first, then namespace/name. */
export function compareRoutes(a: HttpRouteIR, b: HttpRouteIR): number {
  const ta = a.creationTimestamp ? Date.parse(a.creationTimestamp) : Number.NaN;
  const tb = b.creationTimestamp ? Date.parse(b.creationTimestamp) : Number.NaN;
  if (!Number.isNaN(ta) || !Number.isNaN(tb)) {
    if (Number.isNaN(ta)) return 1;
    if (Number.isNaN(tb)) return -1;
    if (ta !== tb) return ta - tb;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
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
