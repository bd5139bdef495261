import { describe, expect, it } from 'vitest';
import { load } from './helpers.ts';

describe('malformed YAML is reported with file, line and column, and nothing loads', () => {
  const cases: [string, string, RegExp][] = [
    ['tab indentation', 'apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n', /^config\.yaml:4:1 invalid YAML: .*[Tt]ab/],
    ['an unclosed quote', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: "x\n', /^config\.yaml:\d+:\d+ invalid YAML: /],
    ['a duplicate key', 'apiVersion: v1\nkind: Service\nkind: Pod\n', /^config\.yaml:3:1 invalid YAML: .*[Dd]uplicate|unique/],
    ['a list as a document', '- a\n- b\n', /^config\.yaml:1:1 a document must be a mapping \(a Kubernetes object\), not a list$/],
    ['a scalar as a document', 'just text\n', /^config\.yaml:1:1 a document must be a mapping .*not a string/],
    ['a mapping without kind', 'apiVersion: v1\nmetadata: { name: x }\n', /^config\.yaml:1:1 a document needs string fields apiVersion and kind$/],
  ];
  it.each(cases)('%s', (_name, text, pattern) => {
    const r = load(text);
    expect(r.ir).toBeUndefined();
    expect(r.lines.some((l) => pattern.test(l)), r.lines.join('\n')).toBe(true);
  });

  it('locates an error in the second document of a file', () => {
    const r = load('apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\napiVersion: v1\nkind: Service\nmetadata: { name: b }\nspec:\n  ports:\n    - port: "80"\n');
    expect(r.lines).toContain('config.yaml:10:7 Service/default/b spec.ports[0].port: must be integer');
  });

  it('skips empty documents and an empty file', () => {
    expect(load('').ir).toBeDefined();
    expect(load('---\n---\n').diagnostics).toEqual([]);
  });

  it('skips unknown kinds with a notice and keeps the rest', () => {
    const r = load('apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w }\n');
    expect(r.ir).toBeDefined();
    expect(r.lines).toEqual(['config.yaml:1:1 notice: kind example.com/v1/Widget (w) is not supported; skipped']);
  });

  it('reads the items of a kind: List', () => {
    const r = load('apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: { name: team-a }\n');
    expect(Object.keys(r.ir!.namespaces)).toEqual(['team-a']);
  });

  it('locates a warning in a valid file after empty documents and comments', () => {
    const r = load('# header\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: { name: lonely }\nspec: { ports: [{ port: 80 }] }\n');
    expect(r.ir).toBeDefined();
    expect(r.lines).toEqual([
      'config.yaml:6:1 warning: Service/default/lonely: no EndpointSlice names this Service (label kubernetes.io/service-name); requests to it get 503 no healthy upstream',
    ]);
  });

  it('reads YAML 1.2: yes/on stay strings, timestamps stay strings', () => {
    const r = load('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  creationTimestamp: 2026-01-01T00:00:00Z\n  labels: { a: yes, b: on, c: "0x1F" }\n');
    expect(r.ir!.namespaces['team-a']).toMatchObject({ a: 'yes', b: 'on', c: '0x1F' });
  });

  it('expands anchors and aliases, but bounds them (a billion laughs is an error, not an outage)', () => {
    const ok = load('apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: { name: team-a, labels: &l { tier: web } }\n- apiVersion: v1\n  kind: Namespace\n  metadata: { name: team-b, labels: *l }\n');
    expect(ok.lines).toEqual([]);
    expect(ok.ir!.namespaces).toMatchObject({ 'team-a': { tier: 'web' }, 'team-b': { tier: 'web' } });
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const bomb = load(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: lol }\ndata:\n  ${laughs.join('\n  ')}\n`);
    expect(bomb.ir).toBeUndefined();
    expect(bomb.lines.join('\n')).toMatch(/invalid YAML: .*[Ee]xcessive alias count/);
  });
});
