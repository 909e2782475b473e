/**
 * `RunsApi` on the project's store: the application's run services (`src/app/runs.ts`), the
 * same use cases the server's routes call, so local output equals the API's. Reading never
 * creates the store: without one there are no runs.
 */
import type { Redactor } from '../lib/redact.js';
import type { Logger } from 'pino';
import { localOperator, type Caller } from '../app/caller.js';
import type { Config } from '../app/config.js';
import { missingStoreLocation, openLocalServices, type LocalServices } from '../app/local.js';
import type { RunService } from '../app/runs.js';
import { AgentryError } from '../lib/errors.js';
import type { RunDiffDto } from '../app/dto/run-diff.js';
import type { CheckpointDiffDto, CheckpointDto } from '../app/dto/checkpoints.js';
import type { AttemptHistoryDto, EventDto, RunDetailDto, RunDto, RunStartFields } from './remote.js';
import type {
  ArtifactContent,
  ArtifactListDto,
  FollowOptions,
  JournalQuery,
  OpenRunsOptions,
  RetriedRun,
  RetryOptions,
  RunPage,
  RunQuery,
  RunsApi,
  StepJournalDto,
} from './runs-api.js';

const PAGE = 500;
/** How often `follow` looks for new events. */
const POLL_MS = 100;
const CANCEL_REASON = 'cancelled with agentry runs cancel';

export interface LocalOpenOptions extends OpenRunsOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** The logger's redactor: the project's secrets are added to it. */
  redactor?: Redactor;
}

export async function openLocalRunsApi(config: Config, options: LocalOpenOptions): Promise<LocalRunsApi> {
  const { logger, env, createStore, project, execute, redactor, tenant } = options;
  const local = await openLocalServices(config, {
    logger,
    env,
    ...(redactor === undefined ? {} : { redactor }),
    ...(createStore === undefined ? {} : { createStore }),
    ...(project === undefined ? {} : { project }),
    ...(execute === undefined ? {} : { execute }),
  });
  return new LocalRunsApi(config, local, localOperator(env, tenant));
}

export class LocalRunsApi implements RunsApi {
  readonly mode = 'local';
  readonly where: string;

  /** `local` is undefined when the store does not exist (and must not be created). */
  constructor(
    config: Config,
    private readonly local: LocalServices | undefined,
    private readonly caller: Caller,
  ) {
    this.where = local?.where ?? missingStoreLocation(config);
  }

  async start(workflow: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    if (!this.local) throw new AgentryError('internal', 'the store is not open');
    return (await this.local.services.runs.start(this.caller, workflow, input, options)).run;
  }

  async startAdhoc(spec: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    if (!this.local) throw new AgentryError('internal', 'the store is not open');
    return (await this.local.services.runs.startAdhoc(this.caller, spec, input, options)).run;
  }

  async list(query: RunQuery): Promise<RunPage> {
    if (!this.local) return { items: [], next_cursor: null };
    return this.local.services.runs.list(this.caller, query);
  }

  get(id: string): Promise<RunDetailDto> {
    return this.onRun(id, (runs) => runs.get(this.caller, id));
  }

  diff(a: string, b: string, limit: number): Promise<RunDiffDto> {
    return this.onRun(a, (runs) => runs.diff(this.caller, a, b, limit));
  }

  checkpoints(id: string): Promise<CheckpointDto[]> {
    return this.onRun(id, async (runs) => {
      const all: CheckpointDto[] = [];
      for (let after: number | null = 0; after !== null;) {
        const page = await runs.checkpoints(this.caller, id, after, 1000);
        all.push(...page.items);
        after = page.next_after;
      }
      return all;
    });
  }

  checkpointDiff(id: string, from: number, to: number, limit: number): Promise<CheckpointDiffDto> {
    return this.onRun(id, (runs) => runs.checkpointDiff(this.caller, id, from, to, limit));
  }

  cancel(id: string, reason = CANCEL_REASON): Promise<RunDto> {
    return this.onRun(id, (runs) => runs.cancel(this.caller, id, reason));
  }

  retry(id: string, options: RetryOptions = {}): Promise<RetriedRun> {
    return this.onRun(id, (runs) => runs.retry(this.caller, id, options));
  }

  attempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    return this.onRun(id, (runs) => runs.attempts(this.caller, id, step, diff));
  }

  journal(id: string, step: string, query: JournalQuery): Promise<StepJournalDto> {
    return this.onRun(id, (runs) => runs.journal(this.caller, id, step, query));
  }

  artifacts(id: string): Promise<ArtifactListDto> {
    if (!this.local) return Promise.reject(new AgentryError('not_found', `run ${id} not found in ${this.where}`));
    return this.local.services.artifacts.list(this.caller, id);
  }

  async artifact(id: string, name: string): Promise<ArtifactContent> {
    if (!this.local) throw new AgentryError('not_found', `run ${id} not found in ${this.where}`);
    const { artifact, content } = await this.local.services.artifacts.download(this.caller, id, name);
    return { content, contentType: artifact.content_type };
  }

  events(id: string, after = 0): Promise<EventDto[]> {
    return this.onRun(id, async (runs) => {
      const all: EventDto[] = [];
      for (let from = after; ;) {
        const page = await runs.events(this.caller, id, from, PAGE);
        all.push(...page.items);
        if (page.items.length < PAGE) return all;
        from = page.next_after;
      }
    });
  }

  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<EventDto> {
    yield* await this.onRun(id, (runs) =>
      runs.follow(this.caller, id, {
        pollMs: POLL_MS,
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }

  async close(): Promise<void> {
    await this.local?.close();
  }

  /** Calls `fn` on the run services; without a store every run is `not_found`, saying where it was looked for. */
  private onRun<T>(id: string, fn: (runs: RunService) => Promise<T>): Promise<T> {
    if (!this.local) return Promise.reject(new AgentryError('not_found', `run ${id} not found in ${this.where}`));
    return fn(this.local.services.runs);
  }
}
