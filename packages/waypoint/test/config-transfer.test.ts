import { loadConfig, type LoadResult } from '@waypoint/config';
import { describe, expect, it } from 'vitest';
import { fromParts, toParts } from '../src/config-transfer.ts';

const service = (i: number) => `apiVersion: v1
kind: Service
metadata: { name: svc-${i} }
spec: { clusterIP: 10.96.0.${i}, ports: [{ name: http, port: 80 }] }`;
const route = (i: number) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r-${i} }
spec:
  parentRefs: [{ group: "", kind: Service, name: svc-${i % 3} }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /r${i} } }]
      backendRefs: [{ name: svc-${i % 3}, port: 80 }]
      sessionPersistence: { type: Cookie }`;
const text = [0, 1, 2].map(service).concat([0, 1, 2, 3, 4, 5, 6].map(route)).join('\n---\n');

describe('a load result in parts (config worker → main thread)', () => {
  it('comes back equal, lists in order, whatever the chunk size', async () => {
    const result = loadConfig([{ file: 'c.yaml', text }], { defaultNamespace: 'default' });
    expect(result.ir?.httpRoutes).toHaveLength(7);
    expect(result.diagnostics.length).toBeGreaterThan(2);
    for (const size of [1, 2, 3, 200]) {
      const parts = toParts(result, size);
      expect(parts.chunks.filter((c) => c.list === 'httpRoutes')).toHaveLength(Math.ceil(7 / size));
      expect(await fromParts(structuredClone(parts))).toEqual(JSON.parse(JSON.stringify(result)));
    }
  });

  it('carries a rejected config (diagnostics, no IR)', async () => {
    const rejected: LoadResult = loadConfig([{ file: 'c.yaml', text: 'apiVersion: v1\nkind: Service\nmetadata: {}\nspec: 3\n' }], { defaultNamespace: 'default' });
    expect(rejected.ir).toBeUndefined();
    const back = await fromParts(toParts(rejected, 1));
    expect(back).toEqual(JSON.parse(JSON.stringify(rejected)));
    expect(back.ir).toBeUndefined();
  });

  it('lets the event loop turn between chunks', async () => {
    const result = loadConfig([{ file: 'c.yaml', text }], { defaultNamespace: 'default' });
    const parts = toParts(result, 1);
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    await fromParts(parts);
    done = true;
    // One turn at least per chunk after the first: the chunks were not all parsed in one go.
    expect(turns).toBeGreaterThanOrEqual(parts.chunks.length - 1);
  });

  it('refuses a chunk for a list the result does not have', async () => {
    await expect(fromParts({ head: JSON.stringify({ diagnostics: [] }), chunks: [{ list: 'httpRoutes', json: '[]' }] })).rejects.toThrow(/chunk of httpRoutes/);
  });
});
