/**
 * The checks of `agentry smoke` that start runs of the built-in workflows: a run of
 * `agentry-smoke` to success (a transform, a durable sleep, a signal), its steps' attempts
 * (`checkpoints`), a second run cancelled, a run of `agentry-smoke-review` resumed by deciding
 * its human task through the tasks API (with the reviewer key when one is given), and the
 * `/metrics` counters those runs moved.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { AgentryError } from '../lib/errors.js';
import { pause } from '../lib/sleep.js';
import { SMOKE_REVIEW_STEP, SMOKE_REVIEW_WORKFLOW, SMOKE_SIGNAL, SMOKE_WORKFLOW } from '../spec/builtin.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';
import type { TaskDto, TaskPageDto } from '../app/dto/tasks.js';
import { hasFamily, parseSamples, sampleSum, seriesText, type Sample } from './prometheus-text.js';
import type { RemoteClient, RunDetailDto } from './remote.js';
import { CheckFailure, errorOf, holds, POLL_MS, runState, withKey, type Context, type Outcome, type State, type Whoami } from './smoke-check.js';

const RUNS_STARTED = 'agentry_runs_started_total';
const RUNS_FINISHED = 'agentry_runs_finished_total';
const DAY_MS = 24 * 3_600_000;

/** A fresh input for a smoke run, and the `compute` output it must give. */
export function smokeInput(): { input: { nonce: string; a: number; b: number }; expected: { nonce: string; sum: number; text: string } } {
  const nonce = randomBytes(8).toString('hex');
  const a = randomInt(1, 100_000);
  const b = randomInt(1, 100_000);
  return { input: { nonce, a, b }, expected: { nonce, sum: a + b, text: `smoke ${nonce}` } };
}

async function startSmokeRun(client: RemoteClient, state: State, workflow: string, input: unknown): Promise<string> {
  try {
    const { run } = await client.startRun(workflow, input);
    state.runs.push({ id: run.id, workflow });
    return run.id;
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'not_found') {
      throw new AgentryError('not_found', `the server has no ${workflow} workflow (is it older than this agentry CLI?): ${error.message}`, {
        cause: error,
        details: error.details,
      });
    }
    // A system admin's key in multi-tenant mode acts in the tenant it names.
    if (error instanceof AgentryError && error.code === 'invalid_request' && /name the tenant/.test(error.message)) {
      throw new AgentryError('invalid_request', `${error.message}; with agentry smoke: --tenant <id>`, { cause: error, details: error.details });
    }
    throw error;
  }
}

export async function checkRun({ client, deadline }: Context, state: State): Promise<Outcome> {
  const { input, expected } = smokeInput();
  const id = await startSmokeRun(client, state, SMOKE_WORKFLOW, input);
  let seen: RunDetailDto | undefined;
  try {
    // The signal is sent once the step waits for it: by then the sleep's durable timer has fired.
    for (;;) {
      seen = await client.getRun(id);
      if (TERMINAL_RUN_STATUSES.has(seen.status)) throw new CheckFailure(`run ${id} ended ${seen.status} before it waited for its signal${errorOf(seen)}`);
      if (seen.steps.find((step) => step.id === SMOKE_SIGNAL)?.status === 'waiting') break;
      await pause(POLL_MS, deadline);
      deadline.throwIfAborted();
    }
  } catch (error) {
    if (seen !== undefined && deadline.aborted) throw new CheckFailure(`run ${id} was still ${runState(seen)}`, { cause: error });
    throw error;
  }
  const payload = { nonce: input.nonce };
  await client.request('POST', `/v1/runs/${encodeURIComponent(id)}/signals/${SMOKE_SIGNAL}`, payload);
  const ended = await client.waitForRun(id, DAY_MS);
  state.ended.add(id);
  if (ended.status !== 'succeeded') throw new CheckFailure(`run ${id} ended ${ended.status}${errorOf(ended)}`);
  const output = ended.output as { compute?: unknown; signal?: unknown } | null;
  if (!isDeepStrictEqual(output?.compute, expected)) {
    throw new CheckFailure(`run ${id}: the transform step's output is ${JSON.stringify(output?.compute)}, not ${JSON.stringify(expected)}`);
  }
  if (!isDeepStrictEqual(output?.signal, payload)) {
    throw new CheckFailure(`run ${id}: the wait step's output is ${JSON.stringify(output?.signal)}, not the signal's payload ${JSON.stringify(payload)}`);
  }
  state.succeeded = { id, compute: expected };
  return { status: 'pass', detail: `${id} succeeded: transform, durable 1 s sleep, signal '${SMOKE_SIGNAL}'; outputs as expected` };
}

/** The run check's run as its steps' attempts record it: each step's last attempt succeeded, the transform's with its output. */
export async function checkCheckpoints({ client }: Context, state: State): Promise<Outcome> {
  if (state.succeeded === undefined) return { status: 'skip', detail: 'the run check did not end with a succeeded run' };
  const { id, compute } = state.succeeded;
  const run = await client.getRun(id);
  const counts: string[] = [];
  for (const step of run.steps) {
    const { items } = await client.stepAttempts(id, step.id);
    const last = items.at(-1);
    if (last === undefined) throw new CheckFailure(`run ${id}: GET …/steps/${step.id}/attempts lists no attempt of a ${step.status} step`);
    if (last.status !== 'succeeded') throw new CheckFailure(`run ${id}: the last attempt of step ${step.id} is ${last.status}, but the step ${step.status}`);
    if (step.id === 'compute' && !isDeepStrictEqual(last.output, compute)) {
      throw new CheckFailure(`run ${id}: the recorded output of step compute is ${JSON.stringify(last.output)}, not ${JSON.stringify(compute)}`);
    }
    counts.push(`${step.id} ${items.length}`);
  }
  return { status: 'pass', detail: `${id}: each step's last attempt succeeded, the transform's output recorded (attempts: ${counts.join(', ')})` };
}

export async function checkCancel({ client }: Context, state: State): Promise<Outcome> {
  const id = await startSmokeRun(client, state, SMOKE_WORKFLOW, smokeInput().input);
  const cancelled = await client.cancelRun(id, 'agentry smoke: the cancel check');
  if (cancelled.status !== 'cancelled') throw new CheckFailure(`run ${id} is ${cancelled.status} after POST /v1/runs/${id}/cancel, not cancelled`);
  state.ended.add(id);
  state.cancelled = id;
  const run = await client.getRun(id);
  const active = run.steps.filter((step) => !['succeeded', 'skipped', 'cancelled', 'failed', 'expired'].includes(step.status));
  if (run.status !== 'cancelled' || active.length > 0) throw new CheckFailure(`run ${id} was cancelled but is ${runState(run)}`);
  return { status: 'pass', detail: `${id} cancelled; its steps: ${run.steps.map((step) => `${step.id} ${step.status}`).join(', ')}` };
}

/** The key that decides the human task: its client, caller (when known) and name in messages; `call` labels its errors. */
interface Decider {
  client: RemoteClient;
  who: Whoami | undefined;
  label: string;
  call: <T>(request: () => Promise<T>) => Promise<T>;
}

/** The reviewer key's decider, or the main key's; a skip when the main key cannot decide and no reviewer key was given. */
async function deciderOf(ctx: Context, state: State): Promise<Decider | Outcome> {
  const reviewer = ctx.reviewer.client;
  if (reviewer === undefined) {
    if (!holds(state, 'tasks:write')) {
      return { status: 'skip', detail: 'the key lacks tasks:read/tasks:write and no --reviewer-key was given (reviewer, operator and admin keys hold them)' };
    }
    const label = `the key${state.who === undefined ? '' : ` (${state.who.principal})`}`;
    return { client: ctx.client, who: state.who, label, call: (request) => request() };
  }
  const call = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      throw withKey(ctx.reviewer.option, error);
    }
  };
  const who = await call(() => reviewer.request<Whoami>('GET', '/v1/auth/whoami'));
  if (who.via !== null && !who.scopes.includes('tasks:write')) {
    throw new CheckFailure(`the ${ctx.reviewer.option} signs in as ${who.principal} (${who.roles.join(', ') || 'no roles'}), which lacks tasks:write`, {
      code: 'forbidden',
    });
  }
  return { client: reviewer, who, label: `the ${ctx.reviewer.option} (${who.principal})`, call };
}

/**
 * The open task of run `id` as the deciding key sees it, once the run waits on its human step
 * (the task is opened in the same transaction). A run that waits on a task the key does not see
 * is a failure at once, not a wait until the deadline.
 */
async function openTask(ctx: Context, decider: Decider, id: string): Promise<TaskDto> {
  let seen: RunDetailDto | undefined;
  try {
    for (;;) {
      seen = await ctx.client.getRun(id);
      if (TERMINAL_RUN_STATUSES.has(seen.status)) throw new CheckFailure(`run ${id} ended ${seen.status} before its task was decided${errorOf(seen)}`);
      const waiting = seen.steps.find((step) => step.id === SMOKE_REVIEW_STEP)?.status === 'waiting';
      const page = await decider.call(() => decider.client.request<TaskPageDto>('GET', `/v1/tasks?run_id=${encodeURIComponent(id)}&status=open`));
      const task = page.items[0];
      if (task !== undefined) return task;
      if (waiting) throw new CheckFailure(`run ${id} waits on its task, but ${decider.label} does not see it in GET /v1/tasks (a key of another tenant?)`);
      await pause(POLL_MS, ctx.deadline);
      ctx.deadline.throwIfAborted();
    }
  } catch (error) {
    if (seen !== undefined && ctx.deadline.aborted) throw new CheckFailure(`run ${id} opened no task: it was still ${runState(seen)}`, { cause: error });
    throw error;
  }
}

export async function checkHuman(ctx: Context, state: State): Promise<Outcome> {
  const decider = await deciderOf(ctx, state);
  if ('status' in decider) return decider;
  const nonce = randomBytes(8).toString('hex');
  const id = await startSmokeRun(ctx.client, state, SMOKE_REVIEW_WORKFLOW, { nonce });
  const task = await openTask(ctx, decider, id);
  const comment = `agentry smoke ${nonce}`;
  await decider.call(() =>
    decider.client.request('POST', `/v1/tasks/${encodeURIComponent(task.id)}/complete`, { decision: 'submit', data: { nonce }, comment }),
  );
  const ended = await ctx.client.waitForRun(id, DAY_MS);
  state.ended.add(id);
  if (ended.status !== 'succeeded') throw new CheckFailure(`run ${id} ended ${ended.status} after its task was decided${errorOf(ended)}`);
  const output = (ended.output as Record<string, unknown> | null)?.[SMOKE_REVIEW_STEP] as Record<string, unknown> | undefined;
  const { by, ...decision } = output ?? {};
  const expected = { decision: 'submit', data: { nonce }, comment };
  const decidedBy = decider.who?.principal;
  if (!isDeepStrictEqual(decision, expected) || typeof by !== 'string' || (decidedBy !== undefined && by !== decidedBy)) {
    throw new CheckFailure(
      `run ${id}: the human step's output is ${JSON.stringify(output)}, not the decision ${JSON.stringify({ ...expected, by: decidedBy ?? '<the decider>' })}`,
    );
  }
  state.reviewed = { id, by };
  return { status: 'pass', detail: `${id} resumed: task ${task.id} (role ${task.role ?? '-'}) decided by ${decider.label}; the step's output is the decision` };
}

async function readMetrics(client: RemoteClient, state: State): Promise<Sample[] | undefined> {
  if (!holds(state, 'metrics:read')) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await client.stream('/metrics', 'text/plain')) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  if (!hasFamily(text, RUNS_STARTED)) throw new CheckFailure(`GET /metrics has no ${RUNS_STARTED} family (is this an Agentry API process?)`);
  return parseSamples(text);
}

/** `/metrics` before the runs (read by the run check first), or why it could not be read. */
export async function metricsBefore(client: RemoteClient, state: State): Promise<void> {
  state.metricsBefore = await readMetrics(client, state).catch((error: unknown) => error as Error);
}

export async function checkMetrics({ client }: Context, state: State): Promise<Outcome> {
  if (!holds(state, 'metrics:read')) return { status: 'skip', detail: 'the key lacks metrics:read (viewer, operator and admin keys hold it)' };
  if (state.runs.length === 0) return { status: 'skip', detail: 'no smoke run was started, so no counter had to move' };
  if (state.metricsBefore instanceof Error) throw state.metricsBefore;
  const before = state.metricsBefore ?? [];
  const after = (await readMetrics(client, state)) ?? [];
  const moved = (name: string, labels: Record<string, string>, atLeast: number): string => {
    const delta = sampleSum(after, name, labels) - sampleSum(before, name, labels);
    const series = seriesText(name, labels);
    if (delta < atLeast) {
      throw new CheckFailure(
        `${series} moved by ${delta}, not at least ${atLeast} (counters are per process: with several API processes behind a load balancer, point --url at one of them)`,
      );
    }
    return `${series} +${delta}`;
  };
  const workflows = [...new Set(state.runs.map((run) => run.workflow))];
  const lines = workflows.map((workflow) => moved(RUNS_STARTED, { workflow }, state.runs.filter((run) => run.workflow === workflow).length));
  // The API process commits a cancel itself; a run's success may be committed by a worker process.
  if (state.cancelled !== undefined) lines.push(moved(RUNS_FINISHED, { workflow: SMOKE_WORKFLOW, status: 'cancelled' }, 1));
  return { status: 'pass', detail: lines.join(', ') };
}

/** Cancels the runs a failed check left unfinished (best effort: a run that ended meanwhile answers 409). */
export async function cleanup(client: RemoteClient, state: State): Promise<void> {
  const left = state.runs.map((run) => run.id).filter((id) => !state.ended.has(id));
  await Promise.allSettled(left.map((id) => client.cancelRun(id, 'agentry smoke: left unfinished by a failed check')));
}
