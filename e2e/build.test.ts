import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIsStale, toJavaScript } from '../scripts/build.ts';
import { ConfigDir, ROOT, WAYPOINT, certFiles, makeCerts, startProcess, type WaypointProcess } from './harness.ts';

describe('the JavaScript build', () => {
  it('strips types in place and points relative imports at the .js files', () => {
    const ts = [
      "import { a, type B } from './a.ts';",
      "export * from '../b/c.ts';",
      "import pkg from 'some-package.ts';",
      'const x: number = 1; // keeps its column',
      "const m = await import('./lazy.ts');",
      'export interface I { f: string }',
    ].join('\n');
    const js = toJavaScript(ts);
    const lines = js.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^import \{ a,\s+\} from '\.\/a\.js';$/);
    expect(lines[1]).toBe("export * from '../b/c.js';");
    expect(lines[2]).toBe("import pkg from 'some-package.ts';"); // not a relative path: untouched
    expect(lines[3]!.indexOf('1; // keeps')).toBe(ts.split('\n')[3]!.indexOf('1; // keeps'));
    expect(lines[4]).toBe("const m = await import('./lazy.js');");
    expect(lines[5]!.trim()).toBe('');
  });

  it('is in force after setup: bin/waypoint runs it, and it decides as the sources do', async () => {
    expect(buildIsStale(), 'a source is newer than the build: scripts/setup.sh builds again').toBe(false);
    const p = await startProcess(['--config', join(ROOT, 'examples', 'demo'), '--hbone-listen', 'off', '--upstream', 'plain', '--http-listen', '127.0.0.1:0'], (w) => w.httpPort > 0);
    try {
      const cmdline = readFileSync(`/proc/${p.child.pid}/cmdline`, 'utf8');
      // bin/waypoint execs node, so the child is node itself
      expect(cmdline.split('\0')).toContain(join(ROOT, 'packages', 'waypoint', 'build', 'main.js'));
      // Plain HTTP only: the 2 MB young generation.
      expect(cmdline.split('\0')).toContain('--max-semi-space-size=2');
      // One V8 worker thread: the process has one V8Worker thread where Node's default gives four.
      expect(cmdline.split('\0')).toContain('--v8-pool-size=1');
      const threads = readdirSync(`/proc/${p.child.pid}/task`).map((t) => readFileSync(`/proc/${p.child.pid}/task/${t}/comm`, 'utf8').trim());
      expect(threads.filter((t) => t === 'V8Worker')).toHaveLength(1);
    } finally {
      await p.stop();
    }
    const args = ['explain', '--config', join(ROOT, 'examples', 'demo'), '--json', 'GET http://echo.default/anything'];
    const fromBuild = spawnSync(WAYPOINT, args, { encoding: 'utf8' });
    const fromSource = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'packages', 'waypoint', 'src', 'main.ts'), ...args], { encoding: 'utf8' });
    expect(fromBuild.status).toBe(0);
    expect(fromBuild.stdout).toBe(fromSource.stdout);
    expect(JSON.parse(fromBuild.stdout)).toBeTruthy();
  });

  it('gives a waypoint that uses HBONE the 8 MB young generation, whether HBONE is on by flag or by environment', async () => {
    const certs = new ConfigDir();
    makeCerts(certs.path, ['--identity', 'default/waypoint']);
    const w = certFiles(certs.path, 'default', 'waypoint');
    const tls = ['--cert', w.cert, '--key', w.key, '--ca', w.ca];
    const semiSpace = async (args: string[], ready: (p: WaypointProcess) => boolean) => {
      const p = await startProcess(['--config', join(ROOT, 'examples', 'demo'), ...args], ready);
      try {
        return readFileSync(`/proc/${p.child.pid}/cmdline`, 'utf8').split('\0').filter((a) => a.startsWith('--max-semi-space-size='));
      } finally {
        await p.stop();
      }
    };
    try {
      // HBONE in, plain out.
      expect(await semiSpace(['--hbone-listen', '127.0.0.1:0', '--upstream', 'plain', ...tls], (p) => p.hbonePort > 0)).toEqual(['--max-semi-space-size=8']);
      // Plain in, HBONE out (the --flag=value form).
      expect(await semiSpace(['--hbone-listen=off', '--upstream=hbone', '--http-listen', '127.0.0.1:0', ...tls], (p) => p.httpPort > 0)).toEqual(['--max-semi-space-size=8']);
      // Plain on both sides through the environment, which a flag on the command line overrides.
      process.env.WAYPOINT_HBONE_LISTEN = 'off';
      process.env.WAYPOINT_UPSTREAM = 'plain';
      expect(await semiSpace(['--http-listen', '127.0.0.1:0'], (p) => p.httpPort > 0)).toEqual(['--max-semi-space-size=2']);
      expect(await semiSpace(['--upstream', 'hbone', '--http-listen', '127.0.0.1:0', ...tls], (p) => p.httpPort > 0)).toEqual(['--max-semi-space-size=8']);
    } finally {
      delete process.env.WAYPOINT_HBONE_LISTEN;
      delete process.env.WAYPOINT_UPSTREAM;
      certs.remove();
    }
  });
});
