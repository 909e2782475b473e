/** Human output of `agentry runs attempts`: a step's attempts across re-runs, and a diff of two. */
import { formatDuration, formatIso, paint, plural, statusText, table, type Style } from './format.js';
import type { AttemptHistoryDto } from './runs-api.js';
import { oneLine } from './runs-view.js';

type Change = NonNullable<AttemptHistoryDto['diff']>['input'][number];

/** The attempts, numbered by position (what `--diff a,b` takes), oldest first. */
export function attemptsTable(s: Style, history: AttemptHistoryDto): string {
  const rows = history.items.map((a, i) => {
    const took = a.finished_at === null ? '' : formatDuration(Date.parse(a.finished_at) - Date.parse(a.started_at));
    const detail = a.error && a.status !== 'succeeded' ? paint(s, 'red', `[${a.error.code}] ${oneLine(a.error.message)}`) : oneLine(a.output);
    return [String(i + 1), a.run_id, String(a.attempt), statusText(s, a.status), a.worker_id ?? '-', formatIso(a.started_at), took, detail];
  });
  return table(s, ['#', 'RUN', 'ATTEMPT', 'STATUS', 'WORKER', 'STARTED', 'DURATION', 'OUTPUT / ERROR'], rows);
}

/** The changed paths of input and output between the two attempts `--diff` named. */
export function attemptsDiffText(s: Style, history: AttemptHistoryDto): string {
  const diff = history.diff;
  if (!diff) return '';
  const label = (position: number): string => {
    const a = history.items[position - 1];
    return a ? `#${position} (run ${a.run_id}, attempt ${a.attempt})` : `#${position}`;
  };
  const lines = [paint(s, 'bold', `Changes from ${label(diff.from)} to ${label(diff.to)}`)];
  for (const [name, changes] of [
    ['input', diff.input],
    ['output', diff.output],
  ] as const) {
    lines.push(`  ${name}: ${changes.length === 0 ? paint(s, 'gray', 'no changes') : plural(changes.length, 'change')}`);
    for (const change of changes) lines.push(`    ${changeLine(s, change)}`);
  }
  return lines.join('\n');
}

/** `+ /path  value` (added), `- /path  value` (removed), `~ /path  before → after` (changed). */
function changeLine(s: Style, change: Change): string {
  const path = change.path === '' ? '(whole value)' : change.path;
  const value = (v: unknown): string => oneLine(JSON.stringify(v) ?? 'null', 80);
  if (!('before' in change)) return `${paint(s, 'green', '+')} ${path}  ${value(change.after)}`;
  if (!('after' in change)) return `${paint(s, 'red', '-')} ${path}  ${value(change.before)}`;
  return `${paint(s, 'yellow', '~')} ${path}  ${value(change.before)} → ${value(change.after)}`;
}
