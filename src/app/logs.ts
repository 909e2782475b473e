/**
 * The server's recent log lines (`GET /v1/admin/logs`, `agentry logs [-f]`): the process keeps
 * its last lines in memory (`AGENTRY_LOG_BUFFER`, `obs/log-ring.ts`), after redaction, and hands
 * them out as a backlog and as a live follow. A follower's lines wait in a queue of their own of
 * at most `maxPending` lines: a reader slower than the log is dropped (told so, then the stream
 * ends) rather than buffered without limit. Only admins (scope `logs:read`) of the deployment
 * reach them: log lines name every tenant's runs.
 */
import { AgentryError } from '../lib/errors.js';
import { atLeast, type LogRing, type RingLevel, type RingLine } from '../obs/log-ring.js';
import type { Caller } from './caller.js';
import type { LogLineDto, LogPageDto } from './dto/logs.js';
import { assertDeploymentCaller } from './fleet.js';

/** Most lines one backlog answers. */
export const MAX_LOG_LIMIT = 5000;
/** Lines a follower may fall behind by before it is dropped. */
export const DEFAULT_MAX_PENDING = 1000;

export interface LogQuery {
  limit: number;
  /** Lines at this level and above (default every level). */
  level?: RingLevel | undefined;
}

/** What a follow yields: a line, or the notice that the reader fell behind (the last item). */
export type FollowItem = { kind: 'line'; line: LogLineDto } | { kind: 'dropped'; pending: number };

export interface FollowOptions extends LogQuery {
  signal: AbortSignal;
  maxPending?: number;
}

export function logLineDto(line: RingLine): LogLineDto {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line.line);
    record = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { msg: line.line };
  } catch {
    record = { msg: line.line };
  }
  return { seq: line.seq, level: line.level, record };
}

export class LogService {
  constructor(private readonly o: { ring: LogRing | undefined; deploymentTenant: string }) {}

  private ringFor(caller: Caller): LogRing {
    assertDeploymentCaller(caller, this.o.deploymentTenant, 'the server’s log lines');
    if (this.o.ring === undefined)
      throw new AgentryError(
        'not_found',
        'this process keeps no log lines (AGENTRY_LOG_BUFFER=0, or the API is embedded in another server): read its stderr (docs/operations/logging.md)',
      );
    return this.o.ring;
  }

  /** The newest `limit` lines at `level` or above, oldest first. */
  recent(caller: Caller, query: LogQuery): Promise<LogPageDto> {
    // A refusal is a rejection, like every service call's.
    return Promise.resolve().then(() => {
      const ring = this.ringFor(caller);
      return { items: ring.recent(Math.min(query.limit, MAX_LOG_LIMIT), query.level).map(logLineDto), capacity: ring.capacity };
    });
  }

  /**
   * The backlog (`limit` lines, 0 for none), then every new line at `level` or above until
   * `signal` aborts. A reader more than `maxPending` lines behind gets `dropped` and the end.
   * Checks the caller before it returns, so a refusal is an answer, not a stream.
   */
  follow(caller: Caller, options: FollowOptions): AsyncGenerator<FollowItem> {
    const ring = this.ringFor(caller);
    const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    const min = options.level ?? 'trace';
    const backlog = ring.recent(Math.min(options.limit, MAX_LOG_LIMIT), min);
    const pending: RingLine[] = [];
    let overflow = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    const unsubscribe = ring.subscribe((line) => {
      if (overflow || !atLeast(line.level, min)) return;
      pending.push(line);
      if (pending.length > maxPending) overflow = true;
      notify();
    });
    options.signal.addEventListener('abort', notify, { once: true });
    return (async function* () {
      try {
        while (!options.signal.aborted) {
          const old = backlog.shift();
          if (old !== undefined) {
            yield { kind: 'line', line: logLineDto(old) };
            continue;
          }
          if (overflow) {
            yield { kind: 'dropped', pending: pending.length };
            return;
          }
          const next = pending.shift();
          if (next !== undefined) {
            yield { kind: 'line', line: logLineDto(next) };
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        unsubscribe();
        options.signal.removeEventListener('abort', notify);
      }
    })();
  }
}
