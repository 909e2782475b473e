/**
 * The process logger: pino JSON lines on stderr (stdout is kept for command output), with
 * credentials redacted wherever they appear in a logged object, and every finished line
 * passed through the process's `Redactor` (known secrets anywhere in a message, an error's
 * stack, a URL). Lines written while the server handles a request carry its `request_id`
 * (`log-context.ts`); a line written inside a span (tracing on) carries its `trace_id` and
 * `span_id`. The fields and events are listed in docs/operations/logging.md.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Redactor } from '../lib/redact.js';
import type { LogRing } from './log-ring.js';
import { currentLogContext } from './log-context.js';
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
  /** Also keeps every written line (after redaction) in this ring (`GET /v1/admin/logs`, `agentry logs`). */
  ring?: LogRing;
}

const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The fields of the work in progress and of the active span, or `NO_CONTEXT`. Not a copy when
 * there is no span (the merge below never changes it).
 */
function contextFields(): Readonly<Record<string, unknown>> {
  const work = currentLogContext();
  const span = traceLogFields();
  if (isNoFields(span)) return work ?? NO_CONTEXT;
  return { ...work, ...span };
}

/**
 * The line with the context's fields it does not set itself (the line's own win). A copy of the
 * line with a few fields added: merging the line into the context's small object instead, as
 * pino's default does, made V8 rebuild that object's shape field by field, three times the cost
 * of the rest of an access record's line.
 */
function withContext(line: object, fields: object): object {
  if (fields === NO_CONTEXT) return line;
  const merged: Record<string, unknown> = { ...line };
  for (const [key, value] of Object.entries(fields)) if (!(key in line)) merged[key] = value;
  return merged;
}

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), its text made once per millisecond: a busy server
 * writes several lines in the same millisecond (a request's access line, the engine's run story).
 */
function isoTimeOfLine(): () => string {
  let at = Number.NaN;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const { redactor, ring } = options;
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: isoTimeOfLine(),
      formatters: { level: (label) => ({ level: label }) },
      // The request's `request_id`/`tenant_id` and the span's ids on every line written in them;
      // outside both, one shared empty object and the line is left as it is.
      mixin: contextFields,
      mixinMergeStrategy: withContext,
      ...(redactor ? { hooks: { streamWrite: (line: string) => redactor.text(line) } } : {}),
    },
    ring ? ring.tee(destination) : destination,
  );
}

export type { Logger };
