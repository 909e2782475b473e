/**
 * The process logger: pino JSON lines on stderr (stdout is kept for command output), with
 * credentials redacted wherever they appear in a logged object, and every finished line
 * passed through the process's `Redactor` (known secrets anywhere in a message, an error's
 * stack, a URL). A line written inside a span (tracing on) carries its `trace_id` and `span_id`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Redactor } from '../lib/redact.js';
import { isNoFields, traceLogFields } from './tracing.js';

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
  /** Masks known secrets and URL credentials in every line (the process's redactor). */
  redactor?: Redactor;
}

export function createLogger(options: LoggerOptions): Logger {
  const { redactor } = options;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Off (or outside a span), the mixin's answer is one shared empty object and the line is left as it is.
      mixin: traceLogFields,
      mixinMergeStrategy: (line: object, fields: object) => (isNoFields(fields) ? line : Object.assign(fields, line)),
      ...(redactor ? { hooks: { streamWrite: (line: string) => redactor.text(line) } } : {}),
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
