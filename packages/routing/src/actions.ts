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
 * Two header modifiers applied one after the other, as one: `b`'s `set` replaces `a`'s for the same
 * name, `add` and `remove` accumulate.
 */
export function mergeHeaderModifiers(a: HeaderModifierIR | undefined, b: HeaderModifierIR | undefined): HeaderModifierIR | undefined {
  if (!a) return b;
  if (!b) return a;
  return { set: [...a.set.filter((h) => !b.set.some((x) => x.name === h.name)), ...b.set], add: [...a.add, ...b.add], remove: [...a.remove, ...b.remove] };
}

