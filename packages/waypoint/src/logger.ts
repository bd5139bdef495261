import { pino, type Logger } from 'pino';

export type { Logger };

/** Process logs: JSON lines on stderr (stdout carries the access log). */
/** Every line of a worker process (`--concurrency` above 1) carries `worker: N`. */
export function createLogger(level: string, worker?: number): Logger {
  return pino(
    { level, base: worker === undefined ? undefined : { worker }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ fd: 2, sync: true }),
  );
}
