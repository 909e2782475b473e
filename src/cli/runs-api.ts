/**
 * What the run commands need, behind one interface with two implementations: `LocalRunsApi`
 * over the project's store and engine (`./runs-local.ts`), and `RemoteRunsApi` over the HTTP
 * API when `AGENTRY_URL` is set. Both speak the API's DTOs (`src/app/dto/runs.ts`: snake_case,
 * ISO times), so `--json` output is the same in both modes and equals what the API returns,
 * and human output is formatted from the same values.
 */
import type { Project } from '../app/bootstrap.js';
import type { Config } from '../app/config.js';
import type { Redactor } from '../lib/redact.js';
import type { RunStatus } from '../types.js';
import type { StepJournalDto } from '../app/dto/journal.js';
import type { JournalQuery } from '../app/journal.js';
import type { RetriedRunDto, RunPageDto } from '../app/dto/runs.js';
import type { RunDiffDto } from '../app/dto/run-diff.js';
import type { CheckpointDiffDto, CheckpointDto, CheckpointPageDto } from '../app/dto/checkpoints.js';
import type { ArtifactListDto } from '../app/dto/artifacts.js';
import type { AttemptHistoryDto, EventDto, RemoteClient, RunDetailDto, RunDto, RunStartFields } from './remote.js';

export type { ArtifactListDto, AttemptHistoryDto, EventDto, JournalQuery, RunDetailDto, RunDto, RunStartFields, StepJournalDto };

/** One artifact downloaded: its bytes and the content type it was stored with. */
export interface ArtifactContent {
  content: Uint8Array;
  contentType: string;
}

/** `GET /v1/runs`. */
export type RunPage = RunPageDto;

export interface RunQuery {
  status?: RunStatus[];
  workflow?: string;
  /** Labels every run listed has. */
  labels?: Array<[string, string]>;
  /** Only runs whose id contains this text (case-insensitive). */
  search?: string;
  limit: number;
  cursor?: string;
}

/** `POST /v1/runs/{id}/retry`: the new run and the one it retries. */
export type RetriedRun = RetriedRunDto;

export interface RetryOptions {
  /** Re-run from this step (it and its downstream steps run again); otherwise retry from the failed step. */
  fromStep?: string;
}

export interface FollowOptions {
  /** Start after this seq (default 0). */
  after?: number;
  /** Stops following (the iteration then ends quietly). */
  signal?: AbortSignal;
}

export interface RunsApi {
  /** `server` when talking to `AGENTRY_URL`, `local` on the project's store. */
  readonly mode: 'server' | 'local';
  /** Where the runs are, for messages: the server URL or the store location. */
  readonly where: string;
  start(workflow: string, input: unknown, options?: RunStartFields): Promise<RunDto>;
  /** An ad-hoc run of a workflow spec given inline (YAML text). */
  startAdhoc(spec: string, input: unknown, options?: RunStartFields): Promise<RunDto>;
  list(query: RunQuery): Promise<RunPage>;
  /** The run with its steps in the workflow's order (`GET /v1/runs/{id}`). */
  get(id: string): Promise<RunDetailDto>;
  /** `GET /v1/runs/{a}/diff/{b}`: what differs from run `a` to run `b`, at most `limit` differences. */
  diff(a: string, b: string, limit: number): Promise<RunDiffDto>;
  /** Every checkpoint of the run (`GET /v1/runs/{id}/checkpoints`, every page), oldest first. */
  checkpoints(id: string): Promise<CheckpointDto[]>;
  /** `GET /v1/runs/{id}/checkpoints/diff`: what changed in the run's state from checkpoint `from` to `to`. */
  checkpointDiff(id: string, from: number, to: number, limit: number): Promise<CheckpointDiffDto>;
  cancel(id: string, reason?: string): Promise<RunDto>;
  /**
   * A new run of the same workflow spec with the same input, reusing the steps that need not run
   * again: from the failed step (failed, cancelled or timed-out runs), or from `fromStep` (any ended run).
   */
  retry(id: string, options?: RetryOptions): Promise<RetriedRun>;
  /** `GET /v1/runs/{id}/steps/{step}/attempts`: the step's attempts across re-runs; with `diff` (1-based positions), what changed. */
  attempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto>;
  /** `GET /v1/runs/{id}/steps/{step}/journal`: a page of an agent step's turns. */
  journal(id: string, step: string, query: JournalQuery): Promise<StepJournalDto>;
  /** `GET /v1/runs/{id}/artifacts`: the files the run's steps wrote. */
  artifacts(id: string): Promise<ArtifactListDto>;
  /** `GET /v1/runs/{id}/artifacts/{name}`: one artifact's bytes. */
  artifact(id: string, name: string): Promise<ArtifactContent>;
  /** Every event after `after`, in order. */
  events(id: string, after?: number): Promise<EventDto[]>;
  /** The events as they happen, each once and in order, until the run's terminal event (or the signal). */
  follow(id: string, options?: FollowOptions): AsyncGenerator<EventDto>;
  close(): Promise<void>;
}

export interface OpenRunsOptions {
  /** Local: open (and create) the store even when it does not exist yet. Otherwise a missing store has no runs. */
  createStore?: boolean;
  /** Local: the project, loaded and checked by the caller (needed to start runs). */
  project?: Project;
  /** Local: also execute runs in this process (worker pool and scheduler) until closed. */
  execute?: boolean;
  /** Keep the terminal for progress: log warnings and errors only. */
  interactive?: boolean;
  /** `--tenant`: local, only this tenant's runs; remote, `?tenant=`. */
  tenant?: string;
  /** Local: the process's redactor (the project's secrets are added to it); default a new one. */
  redactor?: Redactor;
}

/** True when the CLI talks to a server (`AGENTRY_URL`) instead of the project's store. */
export function isRemote(config: Config): boolean {
  return config.client.url !== undefined;
}

/** The API of a server, through its HTTP client. Errors are the server's (as `AgentryError`s). */
export class RemoteRunsApi implements RunsApi {
  readonly mode = 'server';
  readonly where: string;

  constructor(readonly client: RemoteClient) {
    this.where = client.url;
  }

  async start(workflow: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    return (await this.client.startRun(workflow, input, options)).run;
  }

  startAdhoc(spec: string, input: unknown, options: RunStartFields = {}): Promise<RunDto> {
    return this.client.startAdhocRun(spec, input, options);
  }

  list(query: RunQuery): Promise<RunPage> {
    return this.client.listRuns(query);
  }

  get(id: string): Promise<RunDetailDto> {
    return this.client.getRun(id);
  }

  diff(a: string, b: string, limit: number): Promise<RunDiffDto> {
    return this.client.diffRuns(a, b, limit);
  }

  async checkpoints(id: string): Promise<CheckpointDto[]> {
    const all: CheckpointDto[] = [];
    for (let after: number | null = 0; after !== null;) {
      const page: CheckpointPageDto = await this.client.request('GET', `/v1/runs/${encodeURIComponent(id)}/checkpoints?after=${after}&limit=1000`);
      all.push(...page.items);
      after = page.next_after;
    }
    return all;
  }

  checkpointDiff(id: string, from: number, to: number, limit: number): Promise<CheckpointDiffDto> {
    return this.client.request('GET', `/v1/runs/${encodeURIComponent(id)}/checkpoints/diff?from=${from}&to=${to}&limit=${limit}`);
  }

  cancel(id: string, reason?: string): Promise<RunDto> {
    return this.client.cancelRun(id, reason);
  }

  retry(id: string, options: RetryOptions = {}): Promise<RetriedRun> {
    return this.client.retryRun(id, options);
  }

  attempts(id: string, step: string, diff?: readonly [number, number]): Promise<AttemptHistoryDto> {
    return this.client.stepAttempts(id, step, diff);
  }

  journal(id: string, step: string, query: JournalQuery): Promise<StepJournalDto> {
    return this.client.stepJournal(id, step, query);
  }

  artifacts(id: string): Promise<ArtifactListDto> {
    return this.client.runArtifacts(id);
  }

  artifact(id: string, name: string): Promise<ArtifactContent> {
    return this.client.runArtifact(id, name);
  }

  async events(id: string, after = 0): Promise<EventDto[]> {
    const all: EventDto[] = [];
    for (let from = after; ;) {
      const page = await this.client.events(id, from, 1000);
      all.push(...page.items);
      if (page.items.length < 1000) return all;
      from = page.next_after;
    }
  }

  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<EventDto> {
    const { signal } = options;
    try {
      yield* this.client.followEvents(id, { ...(options.after === undefined ? {} : { after: options.after }), ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
