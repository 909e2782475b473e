/** Human output of `agentry runs journal`: an agent step's turns, model calls and tool calls, formatted from the API's DTO. */
import { formatDuration, formatIso, paint, plural, statusText, type Style } from './format.js';
import type { StepJournalDto } from './runs-api.js';
import { oneLine } from './runs-view.js';

type Turn = StepJournalDto['turns'][number];
type ToolCall = Turn['tool_calls'][number];
type LedgerCall = StepJournalDto['other_calls'][number];

/** How much of a text (message, arguments, result) a line shows. */
const TEXT_WIDTH = 160;

const TOOL_STATUS_COLOR = { ok: 'green', error: 'red', refused: 'red', awaiting_approval: 'yellow', not_run: 'gray' } as const;

export function journalText(s: Style, journal: StepJournalDto): string {
  const t = journal.totals;
  const lines = [
    `${paint(s, 'bold', `Step ${journal.step_id}`)} of run ${journal.run_id}  agent ${journal.agent}  ${statusText(s, journal.status)}  attempt ${journal.attempt}`,
    paint(
      s,
      'gray',
      `  ${plural(t.turns, 'turn')} · ${plural(t.tool_calls, 'tool call')} · ${plural(t.llm_calls, 'LLM call')} · ${t.input_tokens} in / ${t.output_tokens} out tokens · ${usd(t.cost_usd)}`,
    ),
  ];
  if (t.turns === 0) lines.push('', 'No turns recorded yet.');
  for (const turn of journal.turns) lines.push('', ...turnLines(s, turn));
  if (journal.other_calls.length > 0) {
    lines.push('', paint(s, 'bold', 'LLM calls outside the turns (failed attempts, answers never recorded)'));
    for (const call of journal.other_calls) lines.push(`  ${ledgerLine(s, call)}`);
  }
  return lines.join('\n');
}

function turnLines(s: Style, turn: Turn): string[] {
  const m = turn.model;
  const attempt = turn.attempt === null ? '' : `  attempt ${turn.attempt}`;
  const lines = [`${paint(s, 'bold', `Turn ${turn.turn}`)}${attempt}  ${formatIso(turn.at)}`];
  const cost = m.cost_usd === null ? '' : `  ${usd(m.cost_usd)}`;
  const latency = m.latency_ms === null ? '' : `  ${formatDuration(m.latency_ms)}`;
  const provider = m.provider === null ? m.model : `${m.provider}/${m.model}`;
  lines.push(`  model  ${m.group} → ${provider}  ${m.input_tokens} in / ${m.output_tokens} out${cost}${latency}  finish ${m.finish_reason ?? '-'}`);
  if (turn.content !== null && turn.content !== '') lines.push(`  says   ${oneLine(turn.content, TEXT_WIDTH)}`);
  for (const call of turn.tool_calls) lines.push(...toolCallLines(s, call));
  return lines;
}

function toolCallLines(s: Style, call: ToolCall): string[] {
  const name = call.server !== null && call.tool !== null ? `${call.server}.${call.tool}` : call.function;
  const took = call.duration_ms === null ? '' : `  ${formatDuration(call.duration_ms)}`;
  const status = paint(s, TOOL_STATUS_COLOR[call.status], call.status);
  const lines = [`  tool   ${paint(s, 'cyan', name)} ${oneLine(call.arguments, TEXT_WIDTH)}  ${status}${took}`];
  if (call.approval) {
    const a = call.approval;
    const decided = a.decision === null ? `task ${a.task_id} ${a.status}` : `${a.decision} by ${a.by ?? '-'}${a.comment ? `: ${oneLine(a.comment, 80)}` : ''}`;
    lines.push(`         approval ${decided}`);
  }
  if (call.result !== null) lines.push(`         ← ${oneLine(call.result, TEXT_WIDTH)}`);
  if (call.error !== null) lines.push(`         ← ${paint(s, 'red', oneLine(call.error, TEXT_WIDTH))}`);
  return lines;
}

function ledgerLine(s: Style, call: LedgerCall): string {
  const attempt = call.attempt === null ? '' : ` attempt ${call.attempt}`;
  const outcome = call.outcome === 'ok' ? call.outcome : paint(s, 'red', `${call.outcome}${call.error_code ? ` [${call.error_code}]` : ''}`);
  return `${formatIso(call.at)}${attempt}  ${call.group} → ${call.provider}/${call.model}  ${outcome}  ${formatDuration(call.latency_ms)}`;
}

function usd(value: number): string {
  return `$${value.toFixed(6).replace(/0{1,4}$/, '')}`;
}
