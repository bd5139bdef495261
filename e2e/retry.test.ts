import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, json, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess, accessLogFor, rawExchange, unusedPort } from './harness.ts';

let ok: Backend, flaky: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;
let closedPort: number;
/** Tries seen by the flaky backend, per x-case header. */
const tries = new Map<string, number>();

beforeAll(async () => {
  ok = await startBackend('ok');
  // Answers 503 to the first `x-fail-times` tries of each `x-case`, then echoes (with the body size it read).
  flaky = await startBackend('flaky', (req, res) => {
    const key = String(req.headers['x-case']);
    const n = (tries.get(key) ?? 0) + 1;
    tries.set(key, n);
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      if (n <= Number(req.headers['x-hang-times'] ?? 0)) return; // never answers: the proxy's per-try timeout must act
      if (n <= Number(req.headers['x-fail-times'] ?? 0)) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end(`fail ${n}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ backend: 'flaky', tries: n, bodyBytes: bytes }));
    });
  });
  closedPort = await unusedPort();

  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      // One endpoint refuses connections, the other answers: Istio's default policy retries on another host.
      serviceYaml('half-down', [{ port: closedPort }, { ip: '127.0.0.2', port: closedPort }, { port: ok.port }]),
      serviceYaml('flaky', [{ port: flaky.port }]),
      serviceYaml('flaky-default', [{ port: flaky.port }]),
      serviceYaml('refused', [{ port: closedPort }]),
      meshRoute('flaky', 'flaky', '[{ retry: { codes: [503], attempts: 2, backoff: 10ms }, backendRefs: [{ name: flaky, port: 80 }] }]'),
      meshRoute('refused', 'refused', '[{ retry: { attempts: 0 }, backendRefs: [{ name: refused, port: 80 }] }]'),
      serviceYaml('per-try', [{ port: flaky.port }]),
      meshRoute(
        'per-try',
        'per-try',
        `[{ matches: [{ path: { type: PathPrefix, value: /retried } }], retry: { codes: [504], attempts: 2, backoff: 10ms }, timeouts: { request: 5s, backendRequest: 200ms }, backendRefs: [{ name: per-try, port: 80 }] },
          { retry: { codes: [503] }, timeouts: { request: 5s, backendRequest: 200ms }, backendRefs: [{ name: per-try, port: 80 }] }]`,
      ),
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path, ['--access-log', 'json']);
});

afterAll(async () => {
  await wp?.stop();
  await Promise.all([ok?.close(), flaky?.close()]);
  dir?.remove();
});

const logOf = (path: string) => accessLogFor(wp, path);

const stat = async (name: string) => {
  const text = await (await fetch(`${wp.admin}/stats?filter=${encodeURIComponent(name)}`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
  return line ? Number(line.slice(name.length + 2)) : 0;
};

describe("Istio's default retry policy", () => {
  it('retries a connect failure on another endpoint: every request succeeds while two of three endpoints refuse', async () => {
    for (let i = 0; i < 9; i++) {
      const r = await send(`${wp.base}/half-${i}`, { headers: { host: 'half-down' } });
      expect([r.status, json(r).backend]).toEqual([200, 'ok']);
    }
    expect(await stat('cluster.inbound-vip|80|http|half-down.default.svc.cluster.local.upstream_rq_retry')).toBeGreaterThan(0);
    // The access log names the endpoint that answered.
    expect((await logOf('/half-0')).upstream_host).toBe(`127.0.0.1:${ok.port}`);
  });

  it('does not retry a 503 answer (Istio 1.24 dropped 503 from the default)', async () => {
    const r = await send(`${wp.base}/default-503`, { headers: { host: 'flaky-default', 'x-case': 'default-503', 'x-fail-times': '1' } });
    expect([r.status, r.body]).toEqual([503, 'fail 1']);
    expect(tries.get('default-503')).toBe(1);
  });
});

describe('HTTPRoute retry', () => {
  it('retries the listed codes and replays the request body', async () => {
    const r = await send(`${wp.base}/codes`, { method: 'POST', body: 'hello world', headers: { host: 'flaky', 'x-case': 'codes', 'x-fail-times': '2' } });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ tries: 3, bodyBytes: 11 });
    expect(await logOf('/codes')).toMatchObject({ response_code: 200, response_flags: '-', bytes_received: 11 });
  });

  it('replays a body that came in the same write as its head (served without node:http)', async () => {
    const raw = await rawExchange(
      wp.httpPort,
      'POST /codes-raw HTTP/1.1\r\nHost: flaky\r\nx-case: codes-raw\r\nx-fail-times: 2\r\nContent-Length: 11\r\n\r\nhello world',
      1500,
    );
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    // The backend's answer is chunked; its JSON is in one chunk.
    expect(raw).toContain('"tries":3');
    expect(raw).toContain('"bodyBytes":11');
    expect(await logOf('/codes-raw')).toMatchObject({ response_code: 200, bytes_received: 11, protocol: 'HTTP/1.1' });
  });

  it('does not retry a request whose body is over the 1 MiB replay buffer', async () => {
    const body = Buffer.alloc(1536 * 1024, 'x');
    const r = await send(`${wp.base}/big`, { method: 'POST', body, headers: { host: 'flaky', 'x-case': 'big-body', 'x-fail-times': '1' } });
    expect([r.status, r.body]).toEqual([503, 'fail 1']);
    expect(tries.get('big-body')).toBe(1);
  });

  it('forwards the last answer, flagged URX, when the attempts run out', async () => {
    const r = await send(`${wp.base}/exhausted`, { headers: { host: 'flaky', 'x-case': 'exhausted', 'x-fail-times': '9' } });
    expect([r.status, r.body]).toEqual([503, 'fail 3']);
    expect(tries.get('exhausted')).toBe(3);
    expect(await logOf('/exhausted')).toMatchObject({ response_code: 503, response_flags: 'URX' });
  });

  it('attempts: 0 turns retries off, connect failures included', async () => {
    const r = await send(`${wp.base}/no-retry`, { headers: { host: 'refused' } });
    expect([r.status, r.body]).toEqual([503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure']);
    expect((await logOf('/no-retry')).response_flags).toBe('UF');
  });
});

describe('per-try timeouts (backendRequest with a retry policy)', () => {
  it('retries a try that outlives its timeout when the policy retries 504s', async () => {
    const r = await send(`${wp.base}/retried`, { headers: { host: 'per-try', 'x-case': 'per-try-retried', 'x-hang-times': '1' } });
    expect([r.status, (json(r) as unknown as { tries: number }).tries]).toEqual([200, 2]);
  });

  it('answers 504 upstream request timeout (UT) after one try otherwise', async () => {
    const start = performance.now();
    const r = await send(`${wp.base}/not-retried`, { headers: { host: 'per-try', 'x-case': 'per-try-504', 'x-hang-times': '9' } });
    expect([r.status, r.body]).toEqual([504, 'upstream request timeout']);
    expect(performance.now() - start).toBeLessThan(4000); // the 5 s route timeout did not decide it
    expect(tries.get('per-try-504')).toBe(1);
    expect((await logOf('/not-retried')).response_flags).toBe('UT');
  });
});
