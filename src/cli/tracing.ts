/**
 * Tracing for the commands that run Agentry (`serve`, `start …`, `run`): started from the
 * `OTEL_*` variables before the app opens, flushed and stopped when the command ends (a role's
 * graceful stop included), so no span of a finished process is lost.
 */
import type { Logger } from 'pino';
import type { Config } from '../app/config.js';
import type { Redactor } from '../lib/redact.js';
import { startTracing, stopTracing } from '../obs/tracing.js';
import type { CliContext } from './context.js';

export interface TracingParts {
  /** `agentry.role` of the process's spans (the role its logs name). */
  role: string;
  config: Config;
  logger: Logger;
  redactor: Redactor;
}

/** Runs `fn` with tracing on when the environment configures it; stops it (exporting what is left) after. */
export async function withTracing<T>(ctx: CliContext, parts: TracingParts, fn: () => Promise<T>): Promise<T> {
  await startTracing({
    role: parts.role,
    logger: parts.logger,
    env: ctx.env,
    redactor: parts.redactor,
    recordArguments: parts.config.telemetry.recordArguments,
    recordResults: parts.config.telemetry.recordResults,
  });
  try {
    return await fn();
  } finally {
    await stopTracing().catch((error: unknown) => parts.logger.warn({ err: error, component: 'tracing' }, 'exporting the last spans failed'));
  }
}
