import { describe, expect, it } from 'vitest';
import { compileRegex } from '../src/index.ts';

describe('regular expressions (RE2 semantics on V8)', () => {
  it('match the whole value', () => {
    const { regex } = compileRegex('/api/v[0-9]+');
    expect(regex!.test('/api/v2')).toBe(true);
    expect(regex!.test('/api/v2/x')).toBe(false);
    expect(regex!.test('x/api/v2')).toBe(false);
  });

  it('accept the RE2 spellings Istio configs use: a leading (?i) and (?P<name>…) groups', () => {
    const ci = compileRegex('(?i)/Reviews/.*').regex!;
    expect(ci.test('/reviews/1')).toBe(true);
    expect(ci.test('/REVIEWS/1')).toBe(true);
    expect(compileRegex('/(?P<version>v[0-9]+)/.*').regex!.test('/v1/x')).toBe(true);
  });

  it.each([
    ['a backreference', '(a)\\1'],
    ['a lookahead', '/api(?=/v1)'],
    ['a negative lookbehind', '(?<!x)y'],
  ])('reject %s, which RE2 does not support', (_name, source) => {
    expect(compileRegex(source).error).toMatch(/backreference or lookaround, which RE2 \(Envoy's regex engine\) does not support/);
  });

  it('reject a pattern that does not parse, saying why', () => {
    expect(compileRegex('/api/(v1').error).toMatch(/^invalid regular expression "\/api\/\(v1": .*[Uu]nterminated group/);
  });

  it('bound catastrophic backtracking: (a+)+b against 30,000 a’s returns at once', () => {
    // A backtracking engine alone needs about 2^30000 steps for this; V8 switches to its linear-time
    // engine after a bounded number of backtracks, so this takes milliseconds.
    const { regex } = compileRegex('(a+)+b');
    const start = performance.now();
    expect(regex!.test(`${'a'.repeat(30_000)}c`)).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(regex!.test('aaab')).toBe(true);
  });
});

describe('(?i) folds case into the pattern, so the backtracking bound still applies', () => {
  it.each([
    ['(?i)/api/[a-c]+', ['/API/abc', '/api/ABC', '/Api/bC'], ['/api/d', '/apix/a']],
    ['(?i)\\w+-[^x]', ['Ab-y', 'ab-Y'], ['ab-x', 'ab-X']],
    ['(?i)(?P<n>ab)\\x41', ['abA', 'ABA'], ['abB']],
  ])('%s', (source, yes, no) => {
    const { regex, error } = compileRegex(source);
    expect(error).toBeUndefined();
    for (const v of yes) expect(regex!.test(v), v).toBe(true);
    for (const v of no) expect(regex!.test(v), v).toBe(false);
  });

  it('bounds (?i)(a+)+b too', () => {
    const { regex } = compileRegex('(?i)(a+)+b');
    const start = performance.now();
    expect(regex!.test(`${'A'.repeat(30_000)}c`)).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('Unicode classes', () => {
  it('are refused rather than read as a literal p', () => {
    expect(compileRegex('\\p{Greek}+').error).toMatch(/uses a Unicode class \(\\p or \\P\), which is not supported here/);
    expect(compileRegex('x\\\\p').error).toBeUndefined(); // an escaped backslash followed by p is not a class
  });
});
