/** Gateway API hostname rules: a leading `*.` matches one or more labels, never the bare suffix. */

/** Whether a concrete or wildcard `name` lies within `pattern`. */
export function hostnameWithin(name: string, pattern: string): boolean {
  if (pattern === '*' || name === pattern) return true;
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1); // ".example.com"
  if (name.startsWith('*.')) return name.length > pattern.length && name.endsWith(suffix);
  return name.length > suffix.length && name.endsWith(suffix);
}

/**
 * The hostnames a route serves on a listener: the intersection of the listener's hostname and the
 * route's hostnames. `undefined` means they do not intersect; `['*']` means any host.
 */
export function intersectHostnames(listener: string | undefined, route: readonly string[]): string[] | undefined {
  if (route.length === 0) return [listener ?? '*'];
  if (!listener) return [...route];
  const out = new Set<string>();
  for (const r of route) {
    if (hostnameWithin(r, listener)) out.add(r);
    else if (hostnameWithin(listener, r)) out.add(listener);
  }
  return out.size ? [...out] : undefined;
}
