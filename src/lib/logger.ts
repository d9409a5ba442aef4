/** Structured JSON logs (pino). Never log payloads, tokens or passwords. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'molesignal' }, timestamp: pino.stdTimeFunctions.isoTime });
}
