import { regexTest, type HttpMatchIR } from '@waypoint/config';
import { headerValue, type QueryView, type RouteRequest } from './request.ts';

type ValueTest = (value: string) => boolean;

function valueTest(type: 'Exact' | 'RegularExpression', expected: string): ValueTest {
  if (type === 'Exact') return (v) => v === expected;
  return regexTest(expected);
}

function pathTest(path: HttpMatchIR['path']): ValueTest {
  switch (path.type) {
    case 'Exact':
      return valueTest('Exact', path.value);
    case 'RegularExpression':
      return valueTest('RegularExpression', path.value);
    case 'PathPrefix': {
      const prefix = normalizedPrefix(path.value);
      if (prefix === '') return () => true;
      const withSlash = `${prefix}/`;
      return (p) => p === prefix || p.startsWith(withSlash);
    }
  }
}

/**
 * A PathPrefix value as it matches: element-wise, so /abc matches /abc, /abc/ and /abc/def but not /abcd,
 * and a trailing slash is ignored. '' for a prefix that matches every path.
 */
export function normalizedPrefix(value: string): string {
  return value.replace(/\/+$/, '');
}

/** One HTTPRoute match, compiled: every condition must hold. */
export class CompiledMatch {
  readonly #ir: HttpMatchIR;
  readonly #path: ValueTest;
  readonly #method: string | undefined;
  readonly #headers: { name: string; test: ValueTest }[];
  readonly #query: { name: string; test: ValueTest }[];

  constructor(match: HttpMatchIR) {
    this.#ir = match;
    this.#path = pathTest(match.path);
    this.#method = match.method;
    this.#headers = match.headers.map((h) => ({ name: h.name, test: valueTest(h.type, h.value) }));
    this.#query = match.queryParams.map((q) => ({ name: q.name, test: valueTest(q.type, q.value) }));
  }

  get usesQuery(): boolean {
    return this.#query.length > 0;
  }

  matches(req: RouteRequest, query: QueryView): boolean {
    return this.#path(req.path) && this.matchesBesidesPath(req, query);
  }

  /** Every condition except the path: for callers that found this match by its path already. */
  matchesBesidesPath(req: RouteRequest, query: QueryView): boolean {
    if (this.#method !== undefined && req.method !== this.#method) return false;
    for (const h of this.#headers) {
      const v = headerValue(req.headers, h.name);
      if (v === undefined || !h.test(v)) return false;
    }
    for (const q of this.#query) {
      const v = query.get(q.name);
      if (v === null || !q.test(v)) return false;
    }
    return true;
  }

  /** Why this match does not take the request (the first condition that fails), or undefined when it does. */
  mismatch(req: RouteRequest, query: QueryView): string | undefined {
    const m = this.#ir;
    if (!this.#path(req.path)) return `path ${JSON.stringify(req.path)} is not ${describePath(m.path)}`;
    if (this.#method !== undefined && req.method !== this.#method) return `method is ${req.method}, not ${this.#method}`;
    for (const [i, h] of this.#headers.entries()) {
      const v = headerValue(req.headers, h.name);
      if (v === undefined) return `header ${h.name} is absent`;
      if (!h.test(v)) return `header ${h.name}: ${JSON.stringify(v)} does not match ${describeValue(m.headers[i]!)}`;
    }
    for (const [i, q] of this.#query.entries()) {
      const v = query.get(q.name);
      if (v === null) return `query parameter ${q.name} is absent`;
      if (!q.test(v)) return `query parameter ${q.name}: ${JSON.stringify(v)} does not match ${describeValue(m.queryParams[i]!)}`;
    }
    return undefined;
  }
}

function describePath(p: HttpMatchIR['path']): string {
  return p.type === 'Exact' ? `exactly ${JSON.stringify(p.value)}` : p.type === 'PathPrefix' ? `under prefix ${JSON.stringify(p.value)}` : `matched by regex ${JSON.stringify(p.value)}`;
}

function describeValue(v: { type: string; value: string }): string {
  return v.type === 'Exact' ? JSON.stringify(v.value) : `regex ${JSON.stringify(v.value)}`;
}

/** A match as one line: `PathPrefix /api, method GET, header x-v = "1"`. */
export function describeMatch(m: HttpMatchIR): string {
  const parts = [`${m.path.type} ${m.path.value}`];
  if (m.method) parts.push(`method ${m.method}`);
  for (const h of m.headers) parts.push(`header ${h.name} ${h.type === 'Exact' ? '=' : '~'} ${JSON.stringify(h.value)}`);
  for (const q of m.queryParams) parts.push(`query ${q.name} ${q.type === 'Exact' ? '=' : '~'} ${JSON.stringify(q.value)}`);
  return parts.join(', ');
}
