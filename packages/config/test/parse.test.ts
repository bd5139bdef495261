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
});
