import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareMatches } from '../src/index.ts';
import { httpRoute, request, router, svc, where } from './helpers.ts';
import type { HttpMatchIR } from '@waypoint/config';

const segment = fc.constantFrom('a', 'b', 'c', 'api', 'v1');
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const targets = ['t0', 't1', 't2', 't3', 't4', 't5'];
const services = targets.map((t, i) => svc(t, [`10.1.0.${i + 1}`], 'default', `10.96.1.${i + 1}`));

/** The Gateway API reading of PathPrefix: element-wise. */
const prefixMatches = (prefix: string, p: string) => p === prefix || p.startsWith(`${prefix}/`);

describe('precedence invariants', () => {
  it('the longest matching prefix wins, and an Exact match beats every prefix', () => {
    fc.assert(
      fc.property(fc.uniqueArray(path, { minLength: 1, maxLength: 5 }), fc.option(path, { nil: undefined }), path, (prefixes, exact, probe) => {
        const rules = prefixes.map((p, i) => `{ matches: [{ path: { type: PathPrefix, value: "${p}" } }], backendRefs: [{ name: t${i}, port: 80 }] }`);
        if (exact) rules.push(`{ matches: [{ path: { type: Exact, value: "${exact}" } }], backendRefs: [{ name: t5, port: 80 }] }`);
        const r = router(...services, httpRoute('r', `{ parentRefs: [{ group: "", kind: Service, name: t0 }], rules: [${rules.join(',')}] }`));
        const got = where(r.routePlain(80, 't0', request(probe)));
        let expected = 'status:404';
        if (exact === probe) expected = 't5';
        else {
          const best = prefixes.map((p, i) => ({ p, i })).filter(({ p }) => prefixMatches(p, probe)).sort((x, y) => y.p.length - x.p.length)[0];
          if (best) expected = `t${best.i}`;
        }
        expect(got).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('compareMatches is a consistent order (antisymmetric and transitive)', () => {
    const match: fc.Arbitrary<HttpMatchIR> = fc.record({
      path: fc.record({ type: fc.constantFrom('Exact', 'PathPrefix', 'RegularExpression'), value: path }),
      headers: fc.array(fc.record({ type: fc.constant('Exact' as const), name: fc.constantFrom('a', 'b'), value: fc.constant('1') }), { maxLength: 3 }),
      queryParams: fc.array(fc.record({ type: fc.constant('Exact' as const), name: fc.constantFrom('q'), value: fc.constant('1') }), { maxLength: 2 }),
      method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
    });
    fc.assert(
      fc.property(match, match, match, (a, b, c) => {
        expect(Math.sign(compareMatches(a, b))).toBe(-Math.sign(compareMatches(b, a)) || 0);
        if (compareMatches(a, b) <= 0 && compareMatches(b, c) <= 0) expect(compareMatches(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});
