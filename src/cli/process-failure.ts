/**
 * A server process (`agentry serve`, `agentry start …`) that stops on an error says so in its log
 * stream too: one `error` JSON line (`event: process.failed`) with the error's registry `code`,
 * its `message` and `details` — a bad configuration (naming the file and the setting), a port in
 * use, pending migrations, a store in use. The CLI then prints its usual `error [code]: …` line
 * and exits non-zero. Log pipelines that keep only JSON lines keep the reason a process died.
 * Credentials in URLs are masked on the whole line, `details` included (a connection error can
 * carry the database URL it was given).
 */
import { toAgentryError } from '../lib/errors.js';
import type { DestinationStream } from 'pino';
import { maskSecrets, Redactor } from '../lib/redact.js';
import { createLogger } from '../obs/logger.js';

/**
 * Runs a server command's action (`command`: `serve`, `start worker` …); if it throws, logs the
 * `process.failed` line (to stderr, or `destination`) and rethrows.
 */
export async function loggingFailure(command: string, action: () => Promise<void>, destination?: DestinationStream): Promise<void> {
  try {
    await action();
  } catch (error) {
    const failure = toAgentryError(error);
    // The configuration may be what failed: this line needs none of it (level, known secrets).
    const logger = createLogger({ level: 'error', redactor: new Redactor(), ...(destination ? { destination } : {}) });
    const message = maskSecrets(failure.message);
    logger.error(
      { command, event: 'process.failed', code: failure.code, message, ...(failure.details === undefined ? {} : { details: failure.details }) },
      `agentry ${command} failed: ${message}`,
    );
    throw error;
  }
}
