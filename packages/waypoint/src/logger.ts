import { pino, type Logger } from 'pino';

export type { Logger };

/** Process logs: JSON lines on stderr (stdout carries the access log). */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ fd: 2, sync: true }),
  );
}
