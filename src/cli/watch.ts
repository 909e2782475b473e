/**
 * Executes a run in this process and watches it: live progress, then the outcome and where to
 * look next. Shared by `agentry run --wait` and `agentry demo`.
 */
import type { Agentry } from '../bootstrap.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { TERMINAL_RUN_STATUSES, type RunRecord } from '../types.js';
import { formatDuration, formatValue, paint, styleFor } from './format.js';
import { Progress } from './progress.js';
import { dirHint, out, outJson, selfCommand, type CliContext } from './context.js';

export interface WatchOptions {
  json: boolean;
  timeoutMs?: number;
  /** Extra "where to look" lines (e.g. the database file). */
  extraHints?: string[];
}

/** Starts the engine, waits for the run to end (or the timeout, or Ctrl-C), stops the engine; returns the exit code. */
export async function watchRun(ctx: CliContext, app: Agentry, run: RunRecord, wf: CompiledWorkflow, options: WatchOptions): Promise<number> {
  const style = styleFor(ctx.stdout, ctx.env);
  const progress = options.json
    ? undefined
    : new Progress({
        out: ctx.stdout,
        live: ctx.stdout.isTTY === true && ctx.env.TERM !== 'dumb',
        style,
        runId: run.id,
        workflow: wf.name,
        steps: wf.order.map((id) => ({ id, kind: wf.steps.get(id)?.kind ?? '?' })),
      });
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let final: RunRecord;
  try {
    await app.engine.start();
    progress?.start();
    final = await app.engine.waitForRun(run.id, {
      signal: interrupt.signal,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(progress ? { onEvent: (event) => progress.onEvent(event) } : {}),
    });
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.engine.stop();
  }

  if (options.json) {
    outJson(ctx, final);
    return final.status === 'succeeded' ? 0 : 1;
  }
  out(ctx);
  const cli = selfCommand(ctx);
  const dir = dirHint(ctx, app.config);
  if (!TERMINAL_RUN_STATUSES.has(final.status)) {
    const why = interrupt.signal.aborted ? 'Interrupted' : `Stopped waiting after ${formatDuration(options.timeoutMs ?? 0)}`;
    out(ctx, `${paint(style, 'yellow', '⏸')} ${why}: run ${final.id} is ${final.status}. Its state is saved; a worker picks it up again:`);
    out(ctx, `    ${cli} start worker${dir}`);
  } else if (final.status === 'succeeded') {
    const took = final.finishedAt === null ? '' : ` in ${formatDuration(final.finishedAt - final.createdAt)}`;
    out(ctx, `${paint(style, 'green', '✓')} Run ${paint(style, 'bold', final.id)} ${paint(style, 'green', 'succeeded')}${took}`);
    out(ctx);
    out(ctx, paint(style, 'bold', 'Output'));
    out(ctx, formatValue(style, final.output));
  } else {
    out(ctx, `${paint(style, 'red', '✗')} Run ${paint(style, 'bold', final.id)} ${paint(style, 'red', final.status)}`);
    if (final.error) out(ctx, `  ${paint(style, 'red', `[${final.error.code}]`)} ${final.error.message}`);
  }
  out(ctx);
  out(ctx, paint(style, 'bold', 'Where to look'));
  const hints = [
    ['steps, attempts, durations, errors and outputs', `${cli} runs get ${final.id}${dir}`],
    ['the full history of the run, in order', `${cli} runs events ${final.id}${dir}`],
    ['every run in this store', `${cli} runs list${dir}`],
  ];
  for (const [what, command] of hints) out(ctx, `  ${paint(style, 'gray', `${what}:`)}\n    ${command}`);
  for (const line of options.extraHints ?? []) out(ctx, `  ${line}`);
  if (interrupt.signal.aborted) return 130;
  return final.status === 'succeeded' ? 0 : 1;
}
