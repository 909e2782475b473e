/**
 * `RunsApi` on the project's store: records become the API's DTOs (`runDto`, `stepDto`,
 * `eventDto`), with the same ordering and errors as the server's routes. Reading never creates
 * the store: without one there are no runs.
 */
import type { Logger } from 'pino';
import { openAgentry, storeExists, type Agentry } from '../app/bootstrap.js';
import type { Config } from '../app/config.js';
import { AgentryError } from '../lib/errors.js';
import { attemptHistoryDto, childRunDto, eventDto, runDto, stepDto } from '../server/dto.js';
import { TERMINAL_RUN_STATUSES, type RunRecord } from '../types.js';
import { TERMINAL_EVENT_TYPES, type AttemptHistoryDto, type EventDto, type RunDetailDto, type RunDto } from './remote.js';
import type { FollowOptions, OpenRunsOptions, RetriedRun, RetryOptions, RunPage, RunQuery, RunsApi } from './runs-api.js';

const PAGE = 500;
/** How often `follow` looks for new events. */
const POLL_MS = 100;

export interface LocalOpenOptions extends OpenRunsOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export async function openLocalRunsApi(config: Config, options: LocalOpenOptions): Promise<LocalRunsApi> {
  if (!options.createStore && !storeExists(config)) return new LocalRunsApi(config, undefined);
  const app = await openAgentry(config, {
    logger: options.logger,
    env: options.env,
    ...(options.project ? { project: options.project } : { withoutProject: true }),
  });
  try {
    if (options.execute) await app.engine.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  return new LocalRunsApi(config, app);
}

export class LocalRunsApi implements RunsApi {
  readonly mode = 'local';
  readonly where: string;

  /** `app` is undefined when the store does not exist (and must not be created). */
  constructor(
    private readonly config: Config,
    private readonly app: Agentry | undefined,
  ) {
    this.where = app ? app.store.location : `${config.database.file} (no store there yet)`;
  }

  private async runOrThrow(id: string): Promise<{ app: Agentry; run: RunRecord }> {
    const run = await this.app?.store.getRun(id);
    if (!this.app || !run) throw new AgentryError('not_found', `run ${id} not found in ${this.where}`);
    return { app: this.app, run };
  }

  async start(workflow: string, input: unknown, options: { priority?: number } = {}): Promise<RunDto> {
    if (!this.app) throw new AgentryError('internal', 'the store is not open');
    return runDto(await this.app.engine.startRun(workflow, input, options));
  }

  async list(query: RunQuery): Promise<RunPage> {
    if (!this.app) return { items: [], next_cursor: null };
    const page = await this.app.store.listRuns({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.workflow ? { workflow: query.workflow } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { items: page.items.map(runDto), next_cursor: page.nextCursor };
  }

  async get(id: string): Promise<RunDetailDto> {
    const { app } = await this.runOrThrow(id);
    const [{ run, steps }, children] = await Promise.all([app.engine.getRunWithSteps(id), app.engine.childRuns(id)]);
    return { ...runDto(run), steps: steps.map(stepDto), children: children.map(childRunDto) };
  }

  async cancel(id: string, reason = 'cancelled with agentry runs cancel'): Promise<RunDto> {
    const { app } = await this.runOrThrow(id);
    return runDto(await app.engine.cancelRun(id, reason));
  }

  async retry(id: string, options: RetryOptions = {}): Promise<RetriedRun> {
    const { app } = await this.runOrThrow(id);
    return { ...runDto(await app.engine.retryRun(id, options)), retry_of: id };
  }

  async attempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    const { app } = await this.runOrThrow(id);
    return attemptHistoryDto(await app.engine.stepAttempts(id, step), diff);
  }

  async events(id: string, after = 0): Promise<EventDto[]> {
    const { app } = await this.runOrThrow(id);
    const all: EventDto[] = [];
    for (let from = after; ; ) {
      const page = await app.store.listEvents(id, from, PAGE);
      all.push(...page.map(eventDto));
      if (page.length < PAGE) return all;
      from = page.at(-1)?.seq ?? from;
    }
  }

  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<EventDto> {
    const { app } = await this.runOrThrow(id);
    const { signal } = options;
    let last = options.after ?? 0;
    while (!signal?.aborted) {
      const page = await app.store.listEvents(id, last, PAGE);
      for (const event of page) {
        last = event.seq;
        yield eventDto(event);
        if (TERMINAL_EVENT_TYPES.has(event.type)) return;
      }
      if (page.length === PAGE) continue;
      if (page.length === 0) {
        // Following from after the terminal event: nothing more will come.
        const run = await app.store.getRun(id);
        if (run && TERMINAL_RUN_STATUSES.has(run.status) && run.eventSeq <= last) return;
      }
      await pause(POLL_MS, signal);
    }
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
