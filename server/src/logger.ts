import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout; modules take child loggers with bindings (`sessionId`, `pairId`, `worker`). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'meetopia' } });
}
