import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileRegex, requiredLiteral } from '../src/index.ts';

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

describe('the required literal of a pattern', () => {
  it.each([
    ['/v[0-9]+/r12/[a-z]+', '/r12/'],
    ['/api/v[0-9]+', '/api/v'],
    ['x\\.y\\d+', 'x.y'],
    ['(a|b)cde', 'cde'],
    ['ab+c', 'ab'],
    ['abc?de', 'ab'],
    ['ab{2}cd', 'cd'],
    ['[/]abc', 'abc'],
    ['a|bcd', ''],
    ['\\x41bc', 'bc'],
    ['.*', ''],
  ])('of %s is %j', (source, literal) => {
    expect(requiredLiteral(source)).toBe(literal);
    expect(compileRegex(source).literal).toBe(literal);
  });

  it('is taken after RE2 spellings are translated: case folding leaves only the punctuation', () => {
    expect(compileRegex('(?i)/Reviews/.*').literal).toBe('/');
  });

  type Node = { kind: 'char'; c: string } | { kind: 'class' } | { kind: 'digit' } | { kind: 'any' } | { kind: 'group'; alts: Node[][] } | { kind: 'repeat'; node: Node; min: number; max: number; text: string };
  const char = fc.constantFrom('a', 'b', '/', '-', '.', '{', '}', ']').map((c): Node => ({ kind: 'char', c }));
  const atom = fc.oneof(char, char, char, fc.constant<Node>({ kind: 'class' }), fc.constant<Node>({ kind: 'digit' }), fc.constant<Node>({ kind: 'any' }));
  const quantified = (n: fc.Arbitrary<Node>) =>
    fc.oneof(
      n,
      n,
      fc.tuple(n, fc.constantFrom(['?', 0, 1], ['*', 0, 2], ['+', 1, 2], ['{2}', 2, 2], ['{0,2}', 0, 2], ['+?', 1, 2])).map(([node, [text, min, max]]): Node => ({ kind: 'repeat', node, min: min as number, max: max as number, text: text as string })),
    );
  const { seq } = fc.letrec<{ seq: Node[]; item: Node }>((tie) => ({
    seq: fc.array(tie('item'), { maxLength: 6 }),
    item: quantified(fc.oneof({ depthSize: 'small', withCrossShrink: true }, atom, fc.array(tie('seq'), { minLength: 1, maxLength: 3 }).map((alts): Node => ({ kind: 'group', alts })))),
  }));
  const render = (nodes: Node[]): string => nodes.map(renderNode).join('');
  const renderNode = (n: Node): string => {
    switch (n.kind) {
      case 'char':
        return ['.', '{', '}', ']'].includes(n.c) ? `\\${n.c}` : n.c;
      case 'class':
        return '[ab]';
      case 'digit':
        return '\\d';
      case 'any':
        return '.';
      case 'group':
        return `(?:${n.alts.map(render).join('|')})`;
      case 'repeat':
        return `${n.node.kind === 'repeat' ? `(?:${renderNode(n.node)})` : renderNode(n.node)}${n.text}`;
    }
  };
  /** A string the pattern matches, built by walking it with the given choices. */
  const sample = (nodes: Node[], pick: () => number): string => nodes.map((n) => sampleNode(n, pick)).join('');
  const sampleNode = (n: Node, pick: () => number): string => {
    switch (n.kind) {
      case 'char':
        return n.c;
      case 'class':
        return 'ab'[pick() % 2]!;
      case 'digit':
        return String(pick() % 10);
      case 'any':
        return 'xy/'[pick() % 3]!;
      case 'group':
        return sample(n.alts[pick() % n.alts.length]!, pick);
      case 'repeat': {
        const times = n.min + (pick() % (n.max - n.min + 1));
        return Array.from({ length: times }, () => sampleNode(n.node, pick)).join('');
      }
    }
  };

  it('is contained in every value the pattern matches (property)', () => {
    let withLiteral = 0;
    fc.assert(
      fc.property(fc.oneof(seq, fc.tuple(seq, seq).map(([a, b]): Node[] => [{ kind: 'group', alts: [a, b] }])), fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), (nodes, choices) => {
        const source = render(nodes);
        const { regex, literal } = compileRegex(source);
        // Deeply nested counted repeats can exceed what V8's linear-time engine takes; validation refuses those.
        fc.pre(regex !== undefined);
        let k = 0;
        const value = sample(nodes, () => choices[k++ % choices.length]!);
        expect(regex!.test(value), `${source} should match ${JSON.stringify(value)}`).toBe(true);
        if (literal) withLiteral++;
        expect(value.includes(literal!), `${JSON.stringify(value)} matches ${source} but lacks ${JSON.stringify(literal)}`).toBe(true);
      }),
      { numRuns: 400 },
    );
    // The property says something only if many patterns have a literal to check.
    expect(withLiteral).toBeGreaterThan(40);
  });
});
