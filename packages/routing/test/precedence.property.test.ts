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

  it('the indexed table decides as a scan of every match in precedence order would', () => {
    type M = { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string; header?: string; method?: string };
    const prefixValue = fc.oneof(path, path.map((p) => `${p}/`), fc.constant('/'));
    const m: fc.Arbitrary<M> = fc.record(
      {
        type: fc.constantFrom('Exact', 'PathPrefix', 'RegularExpression'),
        value: prefixValue,
        header: fc.constantFrom('1', '2'),
        method: fc.constantFrom('GET', 'POST'),
      },
      { requiredKeys: ['type', 'value'] },
    );
    // A route: a creation second (ties broken by name) and rules of one or two matches each.
    const route = fc.record({ second: fc.integer({ min: 0, max: 3 }), rules: fc.array(fc.array(m, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }) });
    const probe = fc.record({ path: fc.oneof(path, path.map((p) => `${p}/`)), method: fc.constantFrom('GET', 'POST'), header: fc.constantFrom('1', '2', undefined) });
    const regexFor = (v: string) => `${v}(/[a-z0-9]+)?`;
    const holds = (x: M, req: { path: string; method: string; header: string | undefined }) => {
      if (x.method && x.method !== req.method) return false;
      if (x.header && x.header !== req.header) return false;
      if (x.type === 'Exact') return req.path === x.value;
      if (x.type === 'RegularExpression') return new RegExp(`^(?:${regexFor(x.value)})$`).test(req.path);
      const prefix = x.value.replace(/\/+$/, '');
      return prefix === '' || req.path === prefix || req.path.startsWith(`${prefix}/`);
    };
    const rank = { Exact: 3, PathPrefix: 2, RegularExpression: 1 };
    fc.assert(
      fc.property(fc.array(route, { minLength: 1, maxLength: 4 }), fc.array(probe, { minLength: 1, maxLength: 8 }), (routes, probes) => {
        const yaml = routes.map((r, i) =>
          httpRoute(
            `r${i}`,
            `{ parentRefs: [{ group: "", kind: Service, name: t0 }], rules: [${r.rules
              .map(
                (matches) =>
                  `{ matches: [${matches
                    .map((x) => `{ path: { type: ${x.type}, value: "${x.type === 'RegularExpression' ? regexFor(x.value) : x.value}" }${x.method ? `, method: ${x.method}` : ''}${x.header ? `, headers: [{ name: x-h, value: "${x.header}" }]` : ''} }`)
                    .join(', ')}], backendRefs: [{ name: t1, port: 80 }] }`,
              )
              .join(', ')}] }`,
            `, creationTimestamp: "2026-01-01T00:00:0${r.second}Z"`,
          ),
        );
        const table = router(...services, ...yaml);
        // The reference: every match, in route order (oldest, then name), rule and match order, stably sorted by precedence.
        const all = routes
          .flatMap((r, i) => r.rules.flatMap((matches, ri) => matches.map((x, mi) => ({ x, second: r.second, name: `r${i}`, routeName: `default.r${i}.${ri}.${mi}` }))))
          .sort((a, b) => a.second - b.second || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .sort(
            (a, b) =>
              rank[b.x.type] - rank[a.x.type] ||
              (b.x.type === 'RegularExpression' ? regexFor(b.x.value) : b.x.value).length - (a.x.type === 'RegularExpression' ? regexFor(a.x.value) : a.x.value).length ||
              Number(!!b.x.method) - Number(!!a.x.method) ||
              Number(!!b.x.header) - Number(!!a.x.header),
          );
        for (const p of probes) {
          const expected = all.find((e) => holds(e.x, p))?.routeName ?? '-';
          const d = table.routePlain(80, 't0', request(p.path, { method: p.method, headers: p.header ? { 'x-h': p.header } : {} }));
          expect(d.routeName, `${p.method} ${p.path} x-h=${p.header}`).toBe(expected);
          // explain reports the same winner as the indexed decision.
          const trace = table.explain({ kind: 'plain', gatewayPort: 80 }, 't0', request(p.path, { method: p.method, headers: p.header ? { 'x-h': p.header } : {} }));
          const chosen = trace.candidates.find((c) => c.result === 'chosen');
          expect(chosen ? `default.${chosen.route.split('/')[1]}.${chosen.rule}.${chosen.match}` : '-').toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
