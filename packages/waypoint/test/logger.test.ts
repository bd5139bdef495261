import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../src/logger.ts';

/** A logger whose lines are collected instead of written to stderr. */
function collecting(level: LogLevel, worker?: number) {
  const lines: string[] = [];
  const log = createLogger(level, worker, (line) => lines.push(line));
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('process log', () => {
  it('writes one JSON object per line in pino’s layout: level label, ISO time, fields, then msg', () => {
    const { log, lines, parsed } = collecting('info');
    log.info('exiting');
    log.warn({ listener: 'http 127.0.0.1:1', address: '127.0.0.1:1' }, 'listening');
    expect(lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines[0]).toMatch(/^\{"level":"info","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","msg":"exiting"\}\n$/);
    expect(parsed()[1]).toEqual({ level: 'warn', time: expect.any(String), listener: 'http 127.0.0.1:1', address: '127.0.0.1:1', msg: 'listening' });
  });

  it('leaves out what is below its level, and writes nothing at silent', () => {
    const { log, parsed } = collecting('warn');
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(parsed().map((l) => l.level)).toEqual(['warn', 'error', 'fatal']);
    const silent = collecting('silent');
    silent.log.fatal('f');
    expect(silent.lines).toEqual([]);
    const all = collecting('trace');
    all.log.trace('t');
    expect(all.parsed()[0]).toMatchObject({ level: 'trace', msg: 't' });
  });

  it('changes its level for every line from then on with setLevel', () => {
    const { log, parsed } = collecting('info');
    log.debug('hidden');
    log.setLevel('debug');
    expect(log.level).toBe('debug');
    log.debug('shown');
    log.setLevel('silent');
    log.fatal('hidden too');
    expect(parsed().map((l) => l.msg)).toEqual(['shown']);
  });

  it('marks each line of a worker process with its number', () => {
    const { log, parsed } = collecting('info', 2);
    log.info({ code: 1 }, 'x');
    expect(parsed()[0]).toEqual({ level: 'info', time: expect.any(String), worker: 2, code: 1, msg: 'x' });
  });

  it('writes an Error as its type, message, stack and code', () => {
    const { log, parsed } = collecting('info');
    const err = Object.assign(new TypeError('bad thing'), { code: 'ERR_BAD' });
    log.error({ err, context: 'reload' }, `internal error: ${err.message}`);
    const line = parsed()[0]!;
    expect(line.err).toEqual({ type: 'TypeError', message: 'bad thing', stack: err.stack, code: 'ERR_BAD' });
    expect(line.context).toBe('reload');
  });

  it('still writes the line when a field cannot be serialised, and keeps its own keys from being overwritten', () => {
    const { log, parsed } = collecting('info');
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle.self = cycle;
    log.warn({ cycle, big: 10n, gone: undefined, msg: 'not this', level: 'fatal' }, 'with odd fields');
    const line = parsed()[0]!;
    expect(line).toEqual({ level: 'warn', time: expect.any(String), cycle: '[object Object]', big: '10', msg: 'with odd fields' });
  });

  it('writes to stderr synchronously, so a line written just before exit is not lost', () => {
    const source = `import { createLogger } from ${JSON.stringify(new URL('../src/logger.ts', import.meta.url).pathname)};
const log = createLogger('info');
log.fatal({ code: 3 }, 'cannot listen: address in use');
process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stderr)).toEqual({ level: 'fatal', time: expect.any(String), code: 3, msg: 'cannot listen: address in use' });
    expect(r.stdout).toBe('');
  });

  it('loses no line and tears none when stderr is a pipe its reader empties late', async () => {
    // 4,000 lines of about 300 bytes: 1.2 MB, far more than a pipe holds, written while nobody reads.
    const source = `import { createLogger } from ${JSON.stringify(new URL('../src/logger.ts', import.meta.url).pathname)};
void process.stderr; // as Node sets up a stderr pipe when anything touches it
const log = createLogger('info');
for (let i = 0; i < 4000; i++) log.info({ i, pad: 'x'.repeat(240) }, 'line ' + i);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.pause();
    await new Promise((r) => setTimeout(r, 300));
    let text = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.resume();
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
  });

  it('keeps the process going when the reader of its stderr has gone away', async () => {
    const source = `import { createLogger } from ${JSON.stringify(new URL('../src/logger.ts', import.meta.url).pathname)};
const log = createLogger('info');
setTimeout(() => {
  for (let i = 0; i < 100; i++) log.error({ i }, 'nobody reads this');
  process.stdout.write('still serving');
}, 300);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.destroy(); // the read end closes: each write to fd 2 now fails with EPIPE
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    expect({ code, signal, out }).toEqual({ code: 0, signal: null, out: 'still serving' });
  });
});
