import { describe, expect, it } from 'vitest';
import { CompiledMatch, QueryView, type RouteRequest } from '../src/index.ts';
import { request } from './helpers.ts';
import type { HttpMatchIR } from '@waypoint/config';

const m = (partial: Partial<HttpMatchIR>): CompiledMatch =>
  new CompiledMatch({ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], ...partial });
const test = (match: CompiledMatch, req: RouteRequest) => match.matches(req, new QueryView(req.query));

describe('path matching', () => {
  const table: [HttpMatchIR['path'], string, boolean][] = [
    [{ type: 'Exact', value: '/a' }, '/a', true],
    [{ type: 'Exact', value: '/a' }, '/a/', false],
    [{ type: 'Exact', value: '/a' }, '/A', false],
    [{ type: 'PathPrefix', value: '/' }, '/anything/at/all', true],
    [{ type: 'PathPrefix', value: '/abc' }, '/abc', true],
    [{ type: 'PathPrefix', value: '/abc' }, '/abc/', true],
    [{ type: 'PathPrefix', value: '/abc' }, '/abc/def', true],
    [{ type: 'PathPrefix', value: '/abc' }, '/abcd', false],
    [{ type: 'PathPrefix', value: '/abc/' }, '/abc', true],
    [{ type: 'PathPrefix', value: '/abc/' }, '/abc/x', true],
    [{ type: 'PathPrefix', value: '/abc/' }, '/abcx', false],
    [{ type: 'RegularExpression', value: '/v[0-9]+/.*' }, '/v12/items', true],
    [{ type: 'RegularExpression', value: '/v[0-9]+' }, '/v12/items', false],
    [{ type: 'RegularExpression', value: '/v[0-9]+' }, '/x/v12', false],
  ];
  it.each(table)('%o on %s → %s', (path, target, expected) => expect(test(m({ path }), request(target))).toBe(expected));

  it('ignores the query string', () => expect(test(m({ path: { type: 'Exact', value: '/a' } }), request('/a?b=c'))).toBe(true));
});

describe('header, query and method matching', () => {
  it('matches header names case-insensitively and values exactly', () => {
    const match = m({ headers: [{ type: 'Exact', name: 'x-env', value: 'Prod' }] });
    expect(test(match, request('/', { headers: { 'X-Env': 'Prod' } }))).toBe(true);
    expect(test(match, request('/', { headers: { 'x-env': 'prod' } }))).toBe(false);
    expect(test(match, request('/'))).toBe(false);
  });

  it('matches header regexes against the whole value', () => {
    const match = m({ headers: [{ type: 'RegularExpression', name: 'x-id', value: '[0-9]{3}' }] });
    expect(test(match, request('/', { headers: { 'x-id': '123' } }))).toBe(true);
    expect(test(match, request('/', { headers: { 'x-id': '1234' } }))).toBe(false);
  });

  it('requires every header and query condition', () => {
    const match = m({
      headers: [
        { type: 'Exact', name: 'a', value: '1' },
        { type: 'Exact', name: 'b', value: '2' },
      ],
      queryParams: [{ type: 'Exact', name: 'q', value: 'x y' }],
    });
    expect(test(match, request('/?q=x%20y', { headers: { a: '1', b: '2' } }))).toBe(true);
    expect(test(match, request('/?q=x%20y', { headers: { a: '1' } }))).toBe(false);
    expect(test(match, request('/?q=other', { headers: { a: '1', b: '2' } }))).toBe(false);
  });

  it('uses the first value of a repeated query parameter; names are case-sensitive', () => {
    const match = m({ queryParams: [{ type: 'Exact', name: 'v', value: '1' }] });
    expect(test(match, request('/?v=1&v=2'))).toBe(true);
    expect(test(match, request('/?v=2&v=1'))).toBe(false);
    expect(test(match, request('/?V=1'))).toBe(false);
  });

  it('matches query regexes', () => {
    const match = m({ queryParams: [{ type: 'RegularExpression', name: 'id', value: '[a-f]+' }] });
    expect(test(match, request('/?id=beef'))).toBe(true);
    expect(test(match, request('/?id=beefy'))).toBe(false);
  });

  it('matches the method exactly', () => {
    const match = m({ method: 'POST' });
    expect(test(match, request('/', { method: 'POST' }))).toBe(true);
    expect(test(match, request('/', { method: 'GET' }))).toBe(false);
  });
});
