import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, retryPolicy } from '../src/index.ts';
import { httpRoute, request, router, svc } from './helpers.ts';

describe('retry policies', () => {
  it("the default is Istio's: 2 retries on connect failure, refused stream, gRPC unavailable/cancelled, no status codes", () => {
    expect(DEFAULT_RETRY).toMatchObject({ numRetries: 2, connectFailure: true, reset: false, refusedStream: true, backoffBaseMs: 25, backoffMaxMs: 250 });
    expect([...DEFAULT_RETRY.statuses]).toEqual([]);
    expect([...DEFAULT_RETRY.grpcStatuses].sort((a, b) => a - b)).toEqual([1, 14]);
  });

  it.each([
    ['5xx', [], [500, 503, 599], [499], true],
    ['gateway-error', [], [502, 503, 504], [500], true],
    ['retriable-4xx', [], [409], [404], false],
    ['retriable-status-codes', [418, 503], [418, 503], [500], false],
  ] as const)('retryOn %s with codes %j retries %j but not %j', (on, codes, yes, no, resets) => {
    const p = retryPolicy({ numRetries: 1, retryOn: [on], codes: [...codes], backoffBaseMs: 25 });
    for (const s of yes) expect(p.statuses.has(s), String(s)).toBe(true);
    for (const s of no) expect(p.statuses.has(s), String(s)).toBe(false);
    expect(p.connectFailure).toBe(resets);
  });

  it('an HTTPRoute rule without retry gets the default; with retry, Istio’s conversion of it', () => {
    const r = router(
      svc('a'),
      httpRoute(
        'r',
        `{ parentRefs: [{ group: "", kind: Service, name: a }], rules: [
          { matches: [{ path: { type: PathPrefix, value: /plain } }], backendRefs: [{ name: a, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /codes } }], retry: { codes: [503, 429], backoff: 100ms }, backendRefs: [{ name: a, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /off } }], retry: { attempts: 0 }, backendRefs: [{ name: a, port: 80 }] } ] }`,
      ),
    );
    const retry = (path: string) => {
      const d = r.routePlain(80, 'a', request(path));
      if (d.kind !== 'forward') throw new Error(`not forwarded: ${d.kind}`);
      return d.retry;
    };
    expect(retry('/plain')).toBe(DEFAULT_RETRY);
    expect(retry('/codes')).toMatchObject({ numRetries: 2, connectFailure: true, backoffBaseMs: 100, backoffMaxMs: 1000 });
    expect([...retry('/codes').statuses].sort()).toEqual([429, 503]);
    expect(retry('/off').numRetries).toBe(0);
  });

  it('with a retry policy, backendRequest is the per-try timeout and request the route timeout (Istio); without one, backendRequest is the route timeout', () => {
    const r = router(
      svc('a'),
      httpRoute(
        'r',
        `{ parentRefs: [{ group: "", kind: Service, name: a }], rules: [
          { matches: [{ path: { type: PathPrefix, value: /with } }], retry: { attempts: 3 }, timeouts: { request: 10s, backendRequest: 2s }, backendRefs: [{ name: a, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /without } }], timeouts: { request: 10s, backendRequest: 2s }, backendRefs: [{ name: a, port: 80 }] } ] }`,
      ),
    );
    const d = (path: string) => {
      const x = r.routePlain(80, 'a', request(path));
      if (x.kind !== 'forward') throw new Error(x.kind);
      return [x.actions?.timeoutMs, x.retry.perTryTimeoutMs];
    };
    expect(d('/with')).toEqual([10_000, 2000]);
    expect(d('/without')).toEqual([2000, 0]);
  });
});
