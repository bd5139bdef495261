import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIsStale, toJavaScript } from '../scripts/build.ts';
import { ROOT, startProcess, WAYPOINT } from './harness.ts';

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
});
