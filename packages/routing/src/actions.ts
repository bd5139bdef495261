import type { HeaderModifierIR, PathModifierIR, RedirectIR } from '@waypoint/config';

/** Compiled RegexRewrite patterns, so no request builds a RegExp. */
const rewriteRegexes = new WeakMap<PathModifierIR, { regex: RegExp; substitution: string }>();

/** Replaces the path as a URLRewrite or RequestRedirect path modifier (or Istio's rewrite) says; `path` has no query. */
export function modifyPath(path: string, mod: PathModifierIR, matchedPrefix: string | undefined): string {
  if (mod.type === 'ReplaceFullPath') return mod.value;
  if (mod.type === 'ReplacePlainPrefix') {
    // The prefix may have matched case-insensitively (ignoreUriCase): what matched is replaced either way.
    const n = mod.prefix.length;
    return path.length >= n && (path.startsWith(mod.prefix) || path.slice(0, n).toLowerCase() === mod.prefix.toLowerCase()) ? mod.value + path.slice(n) : path;
  }
  if (mod.type === 'RegexRewrite') {
    let compiled = rewriteRegexes.get(mod);
    if (!compiled) {
      // Envoy's substitution names groups \1; JavaScript's $1 (a literal $ is $$).
      compiled = { regex: new RegExp(mod.pattern, 'g'), substitution: mod.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1') };
      rewriteRegexes.set(mod, compiled);
    }
    compiled.regex.lastIndex = 0;
    return path.replace(compiled.regex, compiled.substitution);
  }
  const prefix = !matchedPrefix || matchedPrefix === '/' ? '' : matchedPrefix.replace(/\/+$/, '');
  const rest = path.slice(prefix.length);
  const out = mod.value.replace(/\/+$/, '') + rest;
  return out.startsWith('/') ? out : `/${out}`;
}

const WELL_KNOWN_PORT = { http: 80, https: 443 } as const;

/** A redirect that takes the route's port, with that port filled in (Istio does this when it builds the route). */
export function withRoutePort(r: RedirectIR, port: number): RedirectIR {
  return r.portFromRoute && r.port === undefined ? { ...r, port } : r;
}

/**
 * The Location of a redirect, built as Envoy builds it from Istio's config: the redirect's port (Istio's
 * port, or the route's port for FROM_REQUEST_PORT, which routing has filled in) follows the host as
 * written; the host is the redirect's authority, or else the request's Host, whose own port is dropped
 * when the redirect names a port or leaves the scheme whose default port it is (http on :80, https on
 * :443). A redirect with neither port nor a port-derivation keeps no port beside its authority.
 */
export function redirectLocation(
  r: RedirectIR,
  req: { scheme: 'http' | 'https'; hostName: string; port: number | undefined; path: string; query: string },
  matchedPrefix: string | undefined,
): string {
  const scheme = r.scheme ?? req.scheme;
  const bracketed = (h: string) => (h.includes(':') ? `[${h}]` : h);
  let host: string;
  if (r.hostname) host = bracketed(r.hostname);
  else {
    const leavesDefault = scheme !== req.scheme && req.port === WELL_KNOWN_PORT[req.scheme];
    host = req.port === undefined || r.port !== undefined || leavesDefault ? bracketed(req.hostName) : `${bracketed(req.hostName)}:${req.port}`;
  }
  const portPart = r.port !== undefined ? `:${r.port}` : '';
  const path = r.path ? modifyPath(req.path, r.path, matchedPrefix) : req.path;
  return `${scheme}://${host}${portPart}${path}${req.query ? `?${req.query}` : ''}`;
}

/** Applies a header modifier to flat [name, value, …] headers: remove and set drop names, then set and add append. */
export function modifyHeaders(flat: readonly string[], mod: HeaderModifierIR): string[] {
  const drop = new Set([...mod.remove, ...mod.set.map((h) => h.name)]);
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!drop.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  for (const h of mod.set) out.push(h.name, h.value);
  for (const h of mod.add) out.push(h.name, h.value);
  return out;
}

/**
 * Two header modifiers as one list of operations, `a`'s before `b`'s, the way one Envoy header parser
 * applies them: every removal first, then the values in order, where a `set` replaces all values of its
 * name so far. So `b`'s `set` wins over `a`'s `set` and `add` of the same name.
 */
export function mergeHeaderModifiers(a: HeaderModifierIR | undefined, b: HeaderModifierIR | undefined): HeaderModifierIR | undefined {
  if (!a) return b;
  if (!b) return a;
  const setByB = new Set(b.set.map((h) => h.name));
  return { set: [...a.set.filter((h) => !setByB.has(h.name)), ...b.set], add: [...a.add.filter((h) => !setByB.has(h.name)), ...b.add], remove: [...a.remove, ...b.remove] };
}

/**
 * `first` applied in full, then `then`, as one modifier: `then`'s removals and sets also take out what
 * `first` set or added under those names. Envoy applies a weighted cluster's headers this way, before
 * its route's.
 */
export function sequenceHeaderModifiers(first: HeaderModifierIR | undefined, then: HeaderModifierIR | undefined): HeaderModifierIR | undefined {
  if (!first) return then;
  if (!then) return first;
  const replaced = new Set([...then.remove, ...then.set.map((h) => h.name)]);
  const kept = (list: { name: string; value: string }[]) => list.filter((h) => !replaced.has(h.name));
  return { set: [...kept(first.set), ...then.set], add: [...kept(first.add), ...then.add], remove: [...first.remove, ...then.remove] };
}

/**
 * The header changes of a route and one of its destinations, as Istio's Envoy applies them: with one
 * destination, one parser with the route's operations first (the destination's win); with several
 * weighted destinations, the destination's weighted-cluster operations first and the route's after
 * (the route's win).
 */
export function routeAndBackendHeaders(route: HeaderModifierIR | undefined, backend: HeaderModifierIR | undefined, weighted: boolean): HeaderModifierIR | undefined {
  return weighted ? sequenceHeaderModifiers(backend, route) : mergeHeaderModifiers(route, backend);
}

