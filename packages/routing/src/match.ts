import { regexLiteral, regexTest, type HttpMatchIR } from '@waypoint/config';
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

/** An Exact value as itself (compared in place, no call), a RegularExpression as its test. */
type Expected = string | ValueTest;

function expected(type: 'Exact' | 'RegularExpression', value: string): Expected {
  return type === 'Exact' ? value : valueTest(type, value);
}

function holds(e: Expected, v: string): boolean {
  return typeof e === 'string' ? v === e : e(v);
}

/**
 * One HTTPRoute match, compiled: every condition must hold. Conditions sit in flat arrays of name and
 * expected value, so that checking a cold match reads few objects.
 */
export class CompiledMatch {
  readonly #ir: HttpMatchIR;
  readonly #path: ValueTest;
  readonly #method: string | undefined;
  /** name, expected, name, expected, … */
  readonly #headers: (string | Expected)[];
  readonly #query: (string | Expected)[];
  /** For a RegularExpression path: what every path it matches contains (see requiredLiteral); else ''. */
  readonly pathLiteral: string;

  constructor(match: HttpMatchIR) {
    this.#ir = match;
    this.#path = pathTest(match.path);
    this.#method = match.method;
    this.#headers = match.headers.flatMap((h) => [h.name, expected(h.type, h.value)]);
    this.#query = match.queryParams.flatMap((q) => [q.name, expected(q.type, q.value)]);
    this.pathLiteral = match.path.type === 'RegularExpression' ? regexLiteral(match.path.value) : '';
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
    const headers = this.#headers;
    for (let i = 0; i < headers.length; i += 2) {
      const v = headerValue(req.headers, headers[i] as string);
      if (v === undefined || !holds(headers[i + 1]!, v)) return false;
    }
    const params = this.#query;
    for (let i = 0; i < params.length; i += 2) {
      const v = query.get(params[i] as string);
      if (v === null || !holds(params[i + 1]!, v)) return false;
    }
    return true;
  }

  /** Why this match does not take the request (the first condition that fails), or undefined when it does. */
  mismatch(req: RouteRequest, query: QueryView): string | undefined {
    const m = this.#ir;
    if (!this.#path(req.path)) return `path ${JSON.stringify(req.path)} is not ${describePath(m.path)}`;
    if (this.#method !== undefined && req.method !== this.#method) return `method is ${req.method}, not ${this.#method}`;
    for (const [i, h] of m.headers.entries()) {
      const v = headerValue(req.headers, h.name);
      if (v === undefined) return `header ${h.name} is absent`;
      if (!holds(this.#headers[i * 2 + 1]!, v)) return `header ${h.name}: ${JSON.stringify(v)} does not match ${describeValue(h)}`;
    }
    for (const [i, q] of m.queryParams.entries()) {
      const v = query.get(q.name);
      if (v === null) return `query parameter ${q.name} is absent`;
      if (!holds(this.#query[i * 2 + 1]!, v)) return `query parameter ${q.name}: ${JSON.stringify(v)} does not match ${describeValue(q)}`;
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
