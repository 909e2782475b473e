/**
 * Follows a run to its end with live progress, then says how it ended and where to look. The
 * same code serves a run executed in this process (`agentry run --wait` on the local store) and
 * one executed by a server (`AGENTRY_URL`, `agentry demo`): both come through a `RunsApi`.
 */
import { TERMINAL_RUN_STATUSES, type RunStatus } from '../types.js';
import { formatDuration, formatValue, paint, type Style } from './format.js';
import { Progress } from './progress.js';
import { out, outStyle, selfCommand, type CliContext } from './context.js';
import type { RunDetailDto, RunDto, RunsApi } from './runs-api.js';

export interface FollowRunOptions {
  /** No progress output (the caller prints JSON). */
  json: boolean;
  /** Stop following after this long (the run goes on). */
  timeoutMs?: number;
}

export interface FollowedRun {
  /** The run as it is when following stopped. */
  detail: RunDetailDto;
  /** Ctrl-C (or SIGTERM) stopped following. */
  interrupted: boolean;
}

/** Shows the run's progress until it ends, the timeout passes or Ctrl-C; resolves with the run as it is then. */
export async function followRun(ctx: CliContext, api: RunsApi, run: RunDto, options: FollowRunOptions): Promise<FollowedRun> {
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const signal = options.timeoutMs === undefined ? interrupt.signal : AbortSignal.any([interrupt.signal, AbortSignal.timeout(options.timeoutMs)]);
  let progress: Progress | undefined;
  try {
    if (!options.json) {
      const { steps } = await api.get(run.id);
      progress = new Progress({
        out: ctx.stdout,
        live: ctx.stdout.isTTY === true && ctx.env.TERM !== 'dumb',
        style: outStyle(ctx),
        runId: run.id,
        workflow: run.workflow,
        steps: steps.map((step) => ({ id: step.id, kind: step.kind })),
      });
      progress.start();
    }
    for await (const event of api.follow(run.id, { signal })) progress?.onEvent(event);
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { detail: await api.get(run.id), interrupted: interrupt.signal.aborted };
}

/** 130 when interrupted, 0 when the run succeeded, 1 otherwise. */
export function exitCodeOf(followed: FollowedRun): number {
  if (followed.interrupted) return 130;
  return followed.detail.status === 'succeeded' ? 0 : 1;
}

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.has(status);
}

/** How long a run took, from its DTO ('' while it has not ended). */
export function runDuration(run: RunDto): string {
  return run.finished_at === null ? '' : formatDuration(Date.parse(run.finished_at) - Date.parse(run.created_at));
}

/**
 * The outcome: succeeded with its output, failed with its error and failing steps, or (not
 * ended) why following stopped and how the run goes on. `continueHint` says the latter.
 */
export function printOutcome(ctx: CliContext, followed: FollowedRun, options: { timeoutMs?: number; continueHint: string }): void {
  const { detail: run, interrupted } = followed;
  const s = outStyle(ctx);
  out(ctx);
  if (!isTerminal(run.status)) {
    const why = interrupted ? 'Interrupted' : `Stopped waiting after ${formatDuration(options.timeoutMs ?? 0)}`;
    out(ctx, `${paint(s, 'yellow', '⏸')} ${why}: run ${run.id} is ${run.status}. ${options.continueHint}`);
    return;
  }
  const took = runDuration(run);
  if (run.status === 'succeeded') {
    out(ctx, `${paint(s, 'green', '✓')} Run ${paint(s, 'bold', run.id)} ${paint(s, 'green', 'succeeded')}${took ? ` in ${took}` : ''}`);
    out(ctx);
    out(ctx, paint(s, 'bold', 'Output'));
    out(ctx, formatValue(s, run.output));
    return;
  }
  out(ctx, `${paint(s, 'red', '✗')} Run ${paint(s, 'bold', run.id)} ${paint(s, 'red', run.status)}${took ? ` after ${took}` : ''}`);
  if (run.error) out(ctx, `  ${paint(s, 'red', `[${run.error.code}]`)} ${run.error.message}`);
  for (const step of run.steps.filter((st) => st.status === 'failed' && st.error)) {
    out(ctx, `  ${paint(s, 'gray', `step ${step.id}, attempt ${step.attempt}:`)} ${paint(s, 'red', `[${step.error?.code}]`)} ${step.error?.message}`);
  }
}

/** `[what, command]` pairs under a bold title, each command on its own indented line. */
export function printHints(ctx: CliContext, title: string, hints: readonly (readonly [string, string])[], style: Style = outStyle(ctx)): void {
  out(ctx);
  out(ctx, paint(style, 'bold', title));
  for (const [what, command] of hints) out(ctx, `  ${paint(style, 'gray', `${what}:`)}\n    ${command}`);
}

/** Where to look at a run: `runs get`, `runs events`, `runs list` (with `suffix`, e.g. ` --dir …`). */
export function runHints(ctx: CliContext, id: string, suffix = ''): [string, string][] {
  const cli = selfCommand(ctx);
  return [
    ['steps, attempts, durations, errors and outputs', `${cli} runs get ${id}${suffix}`],
    ['the full history of the run, in order', `${cli} runs events ${id}${suffix}`],
    ['every run', `${cli} runs list${suffix}`],
  ];
}
