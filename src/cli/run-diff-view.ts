/** Human output of `agentry runs diff` (what differs between two runs, step by step) and `agentry runs checkpoints`. */
import { formatIso, paint, plural, table, type Style } from './format.js';
import type { RunDiffDto } from '../app/dto/run-diff.js';
import type { CheckpointDiffDto, CheckpointDto } from '../app/dto/checkpoints.js';
import { oneLine } from './runs-view.js';

type Change = RunDiffDto['differences'][number];

/** The two runs, the steps only one has, then each difference as a JSON Pointer path. */
export function runDiffText(s: Style, diff: RunDiffDto): string {
  const { a, b, steps } = diff;
  const lines = [
    paint(s, 'bold', `Run ${a.id} (${a.workflow}, ${a.status}) → run ${b.id} (${b.workflow}, ${b.status})`),
    `  steps: ${plural(steps.changed.length, 'changed step')}, ${steps.unchanged} unchanged` +
      (steps.only_in_a.length === 0 ? '' : `; only in ${a.id}: ${steps.only_in_a.join(', ')}`) +
      (steps.only_in_b.length === 0 ? '' : `; only in ${b.id}: ${steps.only_in_b.join(', ')}`),
  ];
  return [...lines, ...differenceLines(s, diff)].join('\n');
}

/** The lines of a diff's differences (of two runs or two checkpoints), with the note when they were cut at the limit. */
function differenceLines(s: Style, diff: { differences: readonly Change[]; truncated: boolean; limit: number }): string[] {
  if (diff.differences.length === 0) return [paint(s, 'gray', '  No differences.')];
  const lines = ['', ...diff.differences.map((change) => `  ${changeLine(s, change)}`)];
  if (diff.truncated) lines.push('', paint(s, 'yellow', `Only the first ${diff.limit} differences are shown (--limit to see more).`));
  return lines;
}

/** `+ /path  value` (only in b), `- /path  value` (only in a), `~ /path  a → b` (changed). */
function changeLine(s: Style, change: Change): string {
  const value = (v: unknown): string => oneLine(JSON.stringify(v) ?? 'null', 80);
  if (!('before' in change)) return `${paint(s, 'green', '+')} ${change.path}  ${value(change.after)}`;
  if (!('after' in change)) return `${paint(s, 'red', '-')} ${change.path}  ${value(change.before)}`;
  return `${paint(s, 'yellow', '~')} ${change.path}  ${value(change.before)} → ${value(change.after)}`;
}

/** `agentry runs checkpoints <id>`: one row per checkpoint. */
export function checkpointsText(s: Style, items: readonly CheckpointDto[]): string {
  if (items.length === 0) return 'No checkpoints (the run has no events, or retention removed them).';
  return table(
    s,
    ['SEQ', 'TIME', 'EVENT', 'STEP', 'ATTEMPT'],
    items.map((c) => [String(c.seq), formatIso(c.at), c.type, c.step_id ?? '-', c.attempt === null ? '-' : String(c.attempt)]),
  );
}

/** `agentry runs checkpoints <id> --diff a,b`: the two checkpoints, then each change of the run's state. */
export function checkpointDiffText(s: Style, diff: CheckpointDiffDto): string {
  const name = (c: CheckpointDto) => `#${c.seq} ${c.type}${c.step_id === null ? '' : ` ${c.step_id}`}`;
  const lines = [paint(s, 'bold', `Run ${diff.run_id}: checkpoint ${name(diff.from)} → ${name(diff.to)}`)];
  return [...lines, ...differenceLines(s, diff)].join('\n');
}
