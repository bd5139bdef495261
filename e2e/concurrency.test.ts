import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, eventually, rawExchange, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let backend: Backend;
let dir: ConfigDir;
let wp: WaypointProcess;

/** Process ids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {
      // the process went away while listing
    }
  }
  return out;
}

const stat = async (name: string) => {
  const text = await (await fetch(`${wp.admin}/stats?filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`)).text();
  return Number(text.split(': ')[1] ?? 'NaN');
};

/** One request on its own connection, so that the kernel picks a process for each. */
const request = () => rawExchange(wp.httpPort, 'GET /c HTTP/1.1\r\nHost: echo\r\nConnection: close\r\n\r\n');

beforeAll(async () => {
  backend = await startBackend('echo');
  dir = new ConfigDir();
  dir.write('config.yaml', serviceYaml('echo', [{ port: backend.port }]));
  wp = await startWaypoint(dir.path, ['--concurrency', '2']);
  await wp.waitForLog((l) => l.worker === 1 && String(l.msg).includes('listening'), 20_000);
});

afterAll(async () => {
  await wp?.stop();
  await backend?.close();
  dir?.remove();
});

describe('--concurrency 2', () => {
  it('runs a second process on the same port, and the kernel spreads connections over both', async () => {
    expect(childrenOf(wp.child.pid!)).toHaveLength(1);
    for (let i = 0; i < 40; i++) expect(await request()).toMatch(/^HTTP\/1\.1 200 /);
    // Workers report every second; the admin API sums them.
    expect(await eventually(async () => (await stat('http.inbound.downstream_rq_total')) === 40, 5000)).toBe(true);
    const [w0, w1] = [await stat('server.worker_0.downstream_rq_total'), await stat('server.worker_1.downstream_rq_total')];
    expect(w0 + w1).toBe(40);
    expect(w0).toBeGreaterThan(0);
    expect(w1).toBeGreaterThan(0);
    expect(await stat('listener_manager.workers_started')).toBe(2);
  });

  it('starts a worker again when it dies, and keeps serving meanwhile', async () => {
    const [worker] = childrenOf(wp.child.pid!);
    process.kill(worker!, 'SIGKILL');
    await wp.waitForLog((l) => String(l.msg).startsWith('worker 1 exited (SIGKILL); starting it again'));
    for (let i = 0; i < 5; i++) expect(await request()).toMatch(/^HTTP\/1\.1 200 /);
    expect(await eventually(() => childrenOf(wp.child.pid!).some((p) => p !== worker), 10_000)).toBe(true);
  });

  it('changes the log level of the workers too on POST /logging, and starts a worker again at that level', async () => {
    const workerDebugLines = () => wp.logs.filter((l) => l.worker === 1 && l.level === 'debug' && String(l.msg).startsWith('unparseable request')).length;
    /** Malformed requests, each on its own connection, until worker 1 has logged `want` debug lines: at most 10 s. */
    const untilWorkerLogs = (want: number) =>
      eventually(async () => {
        await rawExchange(wp.httpPort, 'GARBAGE\r\n\r\n');
        return workerDebugLines() >= want;
      }, 10_000);
    expect(workerDebugLines()).toBe(0);
    expect((await fetch(`${wp.admin}/logging?level=debug`, { method: 'POST' }).then((r) => r.text()))).toBe('active loggers:\n  waypoint: debug\n');
    expect(await untilWorkerLogs(1)).toBe(true);

    // The worker started again in its place was not running when the level changed.
    const listening = () => wp.logs.filter((l) => l.worker === 1 && String(l.msg).includes('listening')).length;
    const started = listening();
    process.kill(childrenOf(wp.child.pid!)[0]!, 'SIGKILL');
    expect(await eventually(() => listening() > started, 20_000)).toBe(true);
    const before = workerDebugLines();
    expect(await untilWorkerLogs(before + 1)).toBe(true);
    await fetch(`${wp.admin}/logging?level=info`, { method: 'POST' });
  });

  it('drains the workers with the main process on SIGTERM', async () => {
    const workers = childrenOf(wp.child.pid!);
    expect(workers.length).toBe(1);
    wp.child.kill('SIGTERM');
    expect(await wp.exited).toBe(0);
    expect(workers.every((p) => !readdirSync('/proc').includes(String(p)))).toBe(true);
  });
});
