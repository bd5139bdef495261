import { fs } from './builtins.ts';

/**
 * Process logs: one JSON object per line on stderr (stdout carries the access log), in pino's layout —
 * `{"level":"info","time":"<ISO 8601>",…fields,"msg":"…"}` — so that log pipelines written for it keep working.
 * Written synchronously: a line is on its way before the next statement runs, and a crash loses none.
 *
 * Not pino itself: loading pino brings its worker-thread transports along, about 2 MB of resident memory
 * at 1000 rps for the few lines a waypoint logs outside requests (bench/results/2026-11-30-logger-rss.md).
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SEVERITY: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export function isLogLevel(name: string): name is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(name);
}

export type LogFields = Record<string, unknown>;

export interface LogMethod {
  (msg: string): void;
  (fields: LogFields, msg: string): void;
}

export interface Logger {
  /** The level in force; `setLevel` changes it for every line from then on (the admin API's /logging). */
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
  fatal: LogMethod;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  trace: LogMethod;
}

/** Where finished lines go; stderr unless a test gives another sink. */
export type LogSink = (line: string) => void;

/** Every line of a worker process (`--concurrency` above 1) carries `worker: N`. */
export function createLogger(level: LogLevel, worker?: number, sink: LogSink = writeStderr): Logger {
  let threshold = SEVERITY[level];
  const base = worker === undefined ? '' : `,"worker":${worker}`;
  const method = (name: Exclude<LogLevel, 'silent'>): LogMethod => {
    const severity = SEVERITY[name];
    const head = `{"level":"${name}","time":"`;
    return (fieldsOrMsg: LogFields | string, msg?: string) => {
      if (severity < threshold) return;
      const fields = typeof fieldsOrMsg === 'string' ? undefined : fieldsOrMsg;
      const text = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg;
      sink(`${head}${new Date().toISOString()}"${base}${fields ? formatFields(fields) : ''},"msg":${JSON.stringify(String(text ?? ''))}}\n`);
    };
  };
  return {
    get level() {
      return level;
    },
    setLevel(next: LogLevel) {
      level = next;
      threshold = SEVERITY[next];
    },
    fatal: method('fatal'),
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    trace: method('trace'),
  };
}

/** `,"k":v` for each field; an Error as its type, message, stack and code, as pino's serializer writes it. */
function formatFields(fields: LogFields): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === 'level' || key === 'time' || key === 'msg') continue;
    out += `,${JSON.stringify(key)}:${formatValue(value)}`;
  }
  return out;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return JSON.stringify({ type: value.name, message: value.message, stack: value.stack, ...(code === undefined ? {} : { code }) });
  }
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    // A cycle, or a toJSON that throws: the line still goes out, with the value as text.
    return JSON.stringify(String(value));
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A whole line to fd 2, synchronously. A non-blocking pipe that is full answers EAGAIN: wait 1 ms and go on
 * with the rest, for at most a second, after which the line is dropped rather than the process stalled.
 */
function writeStderr(line: string): void {
  let rest = Buffer.from(line);
  for (let waited = 0; rest.length > 0; ) {
    try {
      rest = rest.subarray(fs.writeSync(2, rest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waited > 1000) return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
