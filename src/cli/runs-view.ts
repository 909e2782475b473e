/** Human output of runs and events (one run's, or across runs), formatted from the API's DTOs (local and remote alike). */
import { formatDuration, formatIso, pad, paint, statusText, table, type Style } from './format.js';
import type { WorkflowEventDto } from '../app/dto/events.js';
import type { EventDto, RunDetailDto, RunDto } from './runs-api.js';
import { runDuration } from './watch.js';

export function oneLine(value: unknown, max = 60): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function runsTable(s: Style, runs: readonly RunDto[]): string {
  const rows = runs.map((r) => [r.id, r.workflow, statusText(s, r.status), formatIso(r.created_at), runDuration(r)]);
  return table(s, ['ID', 'WORKFLOW', 'STATUS', 'CREATED', 'DURATION'], rows);
}

/** The run, its steps (in the workflow's order) and, from its events, every failed attempt. */
export function runDetailText(s: Style, run: RunDetailDto, events: readonly EventDto[]): string {
  const lines: string[] = [];
  lines.push(`${paint(s, 'bold', `Run ${run.id}`)}  ${run.workflow}  ${statusText(s, run.status)}`);
  const took = runDuration(run);
  lines.push(`  created ${formatIso(run.created_at)}  finished ${formatIso(run.finished_at)}${took ? `  (${took})` : ''}`);
  lines.push(`  input   ${oneLine(run.input, 200)}`);
  if (run.error) lines.push(`  error   ${paint(s, 'red', `[${run.error.code}]`)} ${run.error.message}`);
  if (run.retry_of) lines.push(`  re-runs ${run.retry_of}`);
  if (run.parent) lines.push(`  parent  ${run.parent.run_id} (step ${run.parent.step_id})`);
  if (run.trace_id) lines.push(`  trace   ${run.trace_id}`);
  for (const child of run.children) lines.push(`  child   ${child.id}  ${child.workflow}  ${statusText(s, child.status)}  (step ${child.step_id})`);
  lines.push('');
  const reused = new Set(events.filter((e) => e.type === 'step.reused').map((e) => e.step_id));
  const rows = run.steps.map((step) => {
    const ran = step.duration_ms === null ? '' : formatDuration(step.duration_ms);
    const detail = step.error && step.status !== 'succeeded' ? paint(s, 'red', `[${step.error.code}] ${oneLine(step.error.message)}`) : oneLine(step.output);
    const attempts = reused.has(step.id) ? `reused` : String(step.attempt);
    return [step.id, step.kind, statusText(s, step.status), attempts, ran, detail];
  });
  lines.push(table(s, ['STEP', 'KIND', 'STATUS', 'ATTEMPTS', 'DURATION', 'OUTPUT / ERROR'], rows));
  const failed = events.filter((e) => (e.type === 'step.retry_scheduled' || e.type === 'step.failed') && errorOf(e) !== undefined);
  if (failed.length > 0) {
    lines.push('', paint(s, 'bold', 'Failed attempts'));
    for (const e of failed) {
      const error = errorOf(e);
      const attempt = typeof dataOf(e).attempt === 'number' ? ` #${String(dataOf(e).attempt)}` : '';
      lines.push(`  ${e.step_id ?? ''}${attempt}  ${paint(s, 'red', `[${error?.code ?? 'error'}]`)} ${error?.message ?? ''}`);
    }
  }
  if (run.status === 'succeeded') lines.push('', paint(s, 'bold', 'Output'), `  ${oneLine(run.output, 2000)}`);
  return lines.join('\n');
}

export const EVENT_HEADER = ['SEQ', 'AT', 'TYPE', 'STEP', 'DETAIL'];

export function eventCells(e: EventDto): string[] {
  return [String(e.seq), formatIso(e.at), e.type, e.step_id ?? '', eventDetail(e)];
}

export const WORKFLOW_EVENT_HEADER = ['AT', 'RUN', 'WORKFLOW', 'SEQ', 'TYPE', 'STEP', 'DETAIL'];

/** An event of `agentry events list`: with its run and workflow. */
export function workflowEventCells(e: WorkflowEventDto): string[] {
  return [formatIso(e.at), e.run_id, e.workflow, String(e.seq), e.type, e.step_id ?? '', eventDetail(e)];
}

/** One event (or the header) as a line of fixed-width columns: for `--follow`, where widths cannot be measured first. */
export function eventLine(cells: readonly string[]): string {
  const widths = [5, 20, 22, 14];
  return cells
    .map((cell, i) => pad(cell, widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

function dataOf(e: EventDto): Record<string, unknown> {
  return e.data !== null && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {};
}

function errorOf(e: EventDto): { code?: string; message?: string } | undefined {
  const error = dataOf(e).error as { code?: string; message?: string } | null | undefined;
  return error?.message ? error : undefined;
}

function eventDetail(e: EventDto): string {
  const data = dataOf(e);
  const parts: string[] = [];
  if (typeof data.attempt === 'number') parts.push(`attempt ${data.attempt}`);
  if (typeof data.at === 'string') parts.push(`retry at ${data.at}`);
  if (typeof data.until === 'string') parts.push(`until ${data.until}`);
  if (typeof data.when === 'string') parts.push(`when: ${data.when}`);
  if (e.type === 'step.guardrail') parts.push(`guardrail ${String(data.phase)}[${String(data.index)}] ${String(data.check)}: ${String(data.action)}`);
  const error = errorOf(e);
  if (error) parts.push(`[${error.code ?? 'error'}] ${oneLine(error.message, 80)}`);
  return parts.join(' · ');
}
