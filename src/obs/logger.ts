/**
 * The process logger: pino JSON lines on stderr (stdout is kept for command output), with
 * credentials redacted wherever they appear in a logged object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Object paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'apiKey',
  'api_key',
  'secret',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  '*.authorization',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers["set-cookie"]',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; stderr (synchronously, so nothing is lost on exit) by default. */
  destination?: DestinationStream;
  /** Fields on every line (e.g. `{ role: 'worker' }`). */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
