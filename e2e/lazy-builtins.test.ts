/**
 * A waypoint that speaks only plain HTTP/1.1 does not load node:http2 or node:tls (about 7 MB of
 * resident memory in Node 24) until something needs them: here, the first h2c connection on its plain
 * listener. Nor does it load the parts of Node that it never uses (worker threads, readline, Web Crypto). The process reports the builtin modules it has loaded when sent SIGUSR2, through a preload
 * script given to it in NODE_OPTIONS.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDir, eventually, meshRoute, send, serviceYaml, startBackend, startWaypoint, type Backend, type WaypointProcess } from './harness.ts';

let dir: ConfigDir;
let scratch: string;
let wp: WaypointProcess;
let echo: Backend;
let report: string;

beforeAll(async () => {
  echo = await startBackend('echo');
  dir = new ConfigDir();
  dir.write('config.yaml', [serviceYaml('echo', [{ port: echo.port }]), meshRoute('echo', 'echo', `\n  - backendRefs: [{ name: echo, port: 80 }]`)].join('\n'));
  scratch = mkdtempSync(join(tmpdir(), 'waypoint-modules-'));
  report = join(scratch, 'modules.txt');
  const preload = join(scratch, 'report-modules.cjs');
  writeFileSync(
    preload,
    // Written whole and then renamed into place, so that the test never reads half a report.
    `process.on('SIGUSR2', () => {
  const fs = require('node:fs');
  fs.writeFileSync(${JSON.stringify(report + '.part')}, [...process.moduleLoadList, ...Object.keys(require.cache).map((f) => 'CommonJS ' + f)].join('\\n'));
  fs.renameSync(${JSON.stringify(report + '.part')}, ${JSON.stringify(report)});
});\n`,
  );
  wp = await startWaypoint(dir.path, [], { NODE_OPTIONS: `--require ${preload}` });
});

afterAll(async () => {
  await wp?.stop();
  await echo?.close();
  dir?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The builtin modules the process has loaded, as it reports them on SIGUSR2. */
async function loadedBuiltins(): Promise<Set<string>> {
  return new Set((await loadedModules()).filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length)));
}

/** Every line of the process's report: `NativeModule name`, `Internal Binding name`, `CommonJS path`. */
async function loadedModules(): Promise<string[]> {
  rmSync(report, { force: true });
  wp.child.kill('SIGUSR2');
  let text = '';
  expect(
    await eventually(() => {
      try {
        text = readFileSync(report, 'utf8');
      } catch {
        return false;
      }
      return text !== '';
    }),
  ).toBe(true);
  return text.split('\n');
}

describe('builtin modules loaded on demand', () => {
  it('serves HTTP/1.1 without node:http2 or node:tls, and loads node:http2 for the first h2c connection', async () => {
    const r = await send(`${wp.base}/hello`, { headers: { host: 'echo' } });
    expect(r.status).toBe(200);
    const plain = await loadedBuiltins();
    // The report itself works: the HTTP/1.1 server is there.
    expect(plain.has('_http_server')).toBe(true);
    expect(plain.has('http2')).toBe(false);
    expect(plain.has('tls')).toBe(false);
    // Nor what ESM imports of node:fs, node:util and node:crypto would load with their namespaces, nor
    // worker_threads (large configs only) or child_process's fork (--concurrency above 1).
    for (const unused of ['worker_threads', 'internal/readline/interface', 'internal/fs/promises', 'internal/crypto/webcrypto', 'internal/tty']) {
      expect(plain.has(unused), unused).toBe(false);
    }

    const s = h2connect(`http://127.0.0.1:${wp.httpPort}`);
    s.on('error', () => undefined);
    try {
      const req = s.request({ ':authority': 'echo', ':path': '/h2' });
      req.resume();
      const [head] = (await once(req, 'response')) as [IncomingHttpHeaders];
      expect(head[':status']).toBe(200);
    } finally {
      s.close();
    }
    expect((await loadedBuiltins()).has('http2')).toBe(true);
  });

  it('loads the positional YAML parser only when a config needs positions for its errors', async () => {
    const yamlPackage = (lines: string[]) => lines.some((l) => l.startsWith('CommonJS ') && l.includes('/node_modules/yaml/'));
    expect(yamlPackage(await loadedModules())).toBe(false);
    dir.write('broken.yaml', 'kind: Service\nmetadata: { name: [unclosed\n');
    const rejected = await wp.waitForLog((l) => l.msg.startsWith('config rejected'));
    expect(String(rejected.errors)).toMatch(/broken\.yaml:\d+:\d+/);
    expect(yamlPackage(await loadedModules())).toBe(true);
    rmSync(join(dir.path, 'broken.yaml'));
  });
});
