/** Human output of tasks and signals, formatted from the API's DTOs (local and remote alike). */
import { formatIso, formatValue, paint, table, type Color, type Style } from './format.js';
import { oneLine } from './runs-view.js';
import type { SignalReceiptDto, TaskDto } from './tasks-api.js';

const TASK_STATUS_LOOK: Record<string, { symbol: string; color: Color }> = {
  open: { symbol: '◷', color: 'yellow' },
  completed: { symbol: '✓', color: 'green' },
  expired: { symbol: '✗', color: 'red' },
  cancelled: { symbol: '⊘', color: 'gray' },
};

export function taskStatusText(s: Style, status: string): string {
  const look = TASK_STATUS_LOOK[status] ?? { symbol: '?', color: 'gray' as const };
  return paint(s, look.color, `${look.symbol} ${status}`);
}

/** Who may decide, in words. */
export function deciders(task: TaskDto): string {
  const parts: string[] = [];
  if (task.role !== null) parts.push(`role ${task.role}`);
  if (task.assignees !== null) parts.push(`assignees ${task.assignees.join(', ')}`);
  if (parts.length === 0) parts.push('any key with tasks:write');
  return `${parts.join(' or ')} (admin and operator always may)`;
}

function decisionText(s: Style, task: TaskDto): string {
  if (task.decision === null) return '';
  const color: Color = task.decision === 'reject' || task.decision === 'timed_out' ? 'red' : 'green';
  return paint(s, color, task.decision);
}

export function tasksTable(s: Style, tasks: readonly TaskDto[]): string {
  const rows = tasks.map((t) => [
    t.id,
    taskStatusText(s, t.status),
    t.workflow,
    t.run_id,
    t.step_id,
    t.role ?? (t.assignees ? t.assignees.join(',') : '-'),
    t.status === 'open' ? formatIso(t.due_at) : decisionText(s, t),
    oneLine(t.title, 50),
  ]);
  return table(s, ['ID', 'STATUS', 'WORKFLOW', 'RUN', 'STEP', 'ROLE', 'DUE / DECISION', 'TITLE'], rows);
}

/** Everything a person needs to decide the task, and how to. */
export function taskDetailText(s: Style, task: TaskDto, cli: string, dir: string): string {
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`  ${name.padEnd(12)}${value}`);
  };
  lines.push(`${paint(s, 'bold', `Task ${task.id}`)}  ${taskStatusText(s, task.status)}`);
  lines.push(`  ${paint(s, 'bold', task.title)}`);
  field('kind', task.kind);
  field('run', `${task.run_id} (${task.workflow}), step ${task.step_id}`);
  field('who', deciders(task));
  field('created', formatIso(task.created_at));
  if (task.due_at !== null) field('due', `${formatIso(task.due_at)}${task.escalations > 0 ? ` (escalated ${task.escalations}×)` : ''}`);
  if (task.instructions !== null) lines.push('', paint(s, 'bold', 'Instructions'), ...task.instructions.split('\n').map((l) => `  ${l}`));
  if (task.form_schema !== null) lines.push('', paint(s, 'bold', 'Form (submit data must match this JSON Schema)'), formatValue(s, task.form_schema));
  const context = shownContext(task.context);
  if (context !== undefined) lines.push('', paint(s, 'bold', 'Context'), formatValue(s, context));
  if (task.decision !== null) {
    lines.push('', paint(s, 'bold', 'Decision'));
    field('decision', decisionText(s, task));
    if (task.decided_by !== null) field('by', task.decided_by);
    field('at', formatIso(task.decided_at));
    if (task.comment !== null) field('comment', task.comment);
    if (task.response !== null) lines.push(`  data`, formatValue(s, task.response, '    '));
  }
  if (task.status === 'open') {
    lines.push('', paint(s, 'bold', 'Decide with one of'));
    lines.push(`  ${cli} tasks approve ${task.id}${dir} [--comment <text>]`);
    lines.push(`  ${cli} tasks reject ${task.id}${dir} [--comment <text>]`);
    if (task.kind !== 'tool_approval') lines.push(`  ${cli} tasks submit ${task.id} --data '<json>'${dir}`);
  }
  return lines.join('\n');
}

/** The context worth showing: none when the task has none. */
function shownContext(context: unknown): unknown {
  return context ?? undefined;
}

const PAST: Record<string, string> = { approve: 'approved', reject: 'rejected', submit: 'submitted' };

/** One line saying what a decision did. */
export function decidedLine(s: Style, task: TaskDto): string {
  const mark = task.decision === 'reject' ? paint(s, 'red', '✗') : paint(s, 'green', '✓');
  const verb = PAST[task.decision ?? ''] ?? String(task.decision);
  return `${mark} Task ${task.id} ${verb}${task.decided_by === null ? '' : ` by ${task.decided_by}`} (run ${task.run_id}, step ${task.step_id}).`;
}

export function signalLine(s: Style, receipt: SignalReceiptDto): string {
  if (receipt.duplicate) {
    return `${paint(s, 'gray', '=')} Signal '${receipt.name}' had already been sent to run ${receipt.run_id} (at ${formatIso(receipt.received_at)}) with this payload: nothing changed.`;
  }
  return `${paint(s, 'green', '→')} Signal '${receipt.name}' sent to run ${receipt.run_id} (received ${formatIso(receipt.received_at)}).`;
}
