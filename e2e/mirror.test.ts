import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, eventually, json, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess, unusedPort } from './harness.ts';

let main: Backend, shadow: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;
/** What the mirror backend received: path → host header and body. */
const mirrored = new Map<string, { host: string | undefined; body: string }>();

beforeAll(async () => {
  main = await startBackend('main');
  shadow = await startBackend('shadow', (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      mirrored.set(req.url!, { host: req.headers.host, body });
      // A slow answer: the client's response must not wait for it.
      setTimeout(() => res.end('shadow answer'), 2000);
    });
  });
  const closedPort = await unusedPort();

  dir = new ConfigDir();
  dir.write(
    'config.yaml',
    [
      serviceYaml('main', [{ port: main.port }]),
      serviceYaml('shadow', [{ port: shadow.port }]),
      serviceYaml('gone', [{ port: closedPort }]),
      meshRoute(
        'main',
        'main',
        `[
          { matches: [{ path: { type: PathPrefix, value: /all } }], filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: shadow, port: 80 } } }], backendRefs: [{ name: main, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /none } }], filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: shadow, port: 80 }, percent: 0 } }], backendRefs: [{ name: main, port: 80 }] },
          { matches: [{ path: { type: PathPrefix, value: /down } }], filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: gone, port: 80 }, fraction: { numerator: 1, denominator: 1 } } }], backendRefs: [{ name: main, port: 80 }] }
        ]`,
      ),
    ].join('\n'),
  );
  wp = await startWaypoint(dir.path);
});

afterAll(async () => {
  await wp?.stop();
  await Promise.all([main?.close(), shadow?.close()]);
  dir?.remove();
});

describe('RequestMirror', () => {
  it('sends a copy, body included, with the -shadow Host, and answers from the real backend without waiting', async () => {
    const start = performance.now();
    const r = await send(`${wp.base}/all/1`, { method: 'POST', body: 'payload', headers: { host: 'main:80' } });
    expect(performance.now() - start).toBeLessThan(1500); // the mirror answers only after 2 s
    expect([r.status, json(r).backend, json(r).bodyBytes]).toEqual([200, 'main', 7]);
    expect(await eventually(() => mirrored.has('/all/1'))).toBe(true);
    expect(mirrored.get('/all/1')).toEqual({ host: 'main-shadow:80', body: 'payload' });
  });

  it('mirrors nothing at percent: 0', async () => {
    for (let i = 0; i < 5; i++) expect((await send(`${wp.base}/none/${i}`, { headers: { host: 'main' } })).status).toBe(200);
    await send(`${wp.base}/all/after-none`, { headers: { host: 'main' } });
    expect(await eventually(() => mirrored.has('/all/after-none'))).toBe(true);
    expect([...mirrored.keys()].filter((k) => k.startsWith('/none'))).toEqual([]);
  });

  it('leaves the client unaffected when the mirror cannot be reached', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send(`${wp.base}/down/${i}`, { headers: { host: 'main' } });
      expect([r.status, json(r).backend]).toEqual([200, 'main']);
    }
  });
});
