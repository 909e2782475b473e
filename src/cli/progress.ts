/**
 * Live progress of one run, fed with the run's events in order. On a terminal: one line per
 * step (status symbol, attempt, duration, note) redrawn in place; elsewhere: one plain line
 * per event, so logs and CI output stay readable. Events are the API's (`EventDto`), from the
 * local store or a server's event stream alike.
 */
import { isItemStepId } from '../types.js';
import type { EventDto } from '../app/dto/runs.js';
import type { RunStatus } from '../types.js';
import { formatDuration, paint, pad, plural, STATUS_LOOK, visibleLength, type Style } from './format.js';

interface StepView {
  id: string;
  kind: string;
  status: string;
  attempt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  note: string;
  /** A for_each step: items in all, and how many ended each way. */
  items?: { total: number; succeeded: number; failed: number };
}

export interface ProgressOptions {
  out: NodeJS.WritableStream & { columns?: number };
  live: boolean;
  style: Style;
  runId: string;
  workflow: string;
  /** Step ids in display order with their kinds. */
  steps: { id: string; kind: string }[];
  now?: () => number;
}

/** An event as progress reads it: the DTO with its time in epoch ms. */
interface ProgressEvent {
  type: string;
  stepId: string | null;
  at: number;
  data: Record<string, unknown>;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private readonly steps = new Map<string, StepView>();
  private runStatus: RunStatus | 'queued' = 'queued';
  private createdAt: number | undefined;
  private finishedAt: number | undefined;
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    for (const { id, kind } of o.steps) {
      this.steps.set(id, { id, kind, status: 'pending', attempt: 0, startedAt: undefined, finishedAt: undefined, note: '' });
    }
  }

  start(): void {
    if (!this.o.live) {
      this.o.out.write(`${paint(this.o.style, 'bold', `Run ${this.o.runId}`)} (${this.o.workflow})\n`);
      return;
    }
    this.draw();
    this.timer = setInterval(() => {
      this.frame++;
      this.draw();
    }, 100);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.o.live) this.draw();
  }

  onEvent(dto: EventDto): void {
    const event = { type: dto.type, stepId: dto.step_id, at: Date.parse(dto.at), data: (dto.data ?? {}) as Record<string, unknown> };
    this.apply(event);
    if (this.o.live) this.draw();
    else this.o.out.write(`${this.eventLine(event)}\n`);
  }

  private apply(event: ProgressEvent): void {
    const data = event.data;
    if (event.type === 'run.created') this.createdAt = event.at;
    if (event.type === 'run.blocked') return; // still queued, waiting for a turn on its concurrency key
    if (event.type.startsWith('run.')) {
      const status = event.type.slice(4);
      if (status !== 'created') this.runStatus = status === 'started' || status === 'resumed' ? 'running' : (status as RunStatus);
      if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(status)) this.finishedAt = event.at;
      return;
    }
    if (event.stepId !== null && isItemStepId(event.stepId)) {
      this.applyItem(event);
      return;
    }
    const step = event.stepId === null ? undefined : this.steps.get(event.stepId);
    if (!step) return;
    const errorMessage = (data.error as { message?: string } | undefined)?.message ?? '';
    switch (event.type) {
      case 'step.queued':
        if (step.status !== 'retrying') step.status = 'queued';
        break;
      case 'step.started':
        step.status = 'running';
        step.attempt = typeof data.attempt === 'number' ? data.attempt : step.attempt + 1;
        step.startedAt ??= event.at;
        if (data.resumed !== true) step.note = step.attempt > 1 ? step.note : '';
        break;
      case 'step.retry_scheduled': {
        step.status = 'retrying';
        const at = typeof data.at === 'string' ? Date.parse(data.at) - event.at : NaN;
        step.note = `attempt ${step.attempt} failed: ${errorMessage}${Number.isFinite(at) ? ` · retry in ${formatDuration(at)}` : ''}`;
        break;
      }
      case 'step.waiting':
        step.status = 'waiting';
        if (typeof data.signal === 'string') step.note = `waiting for signal ${data.signal}`;
        else if (typeof data.task_id === 'string') step.note = `waiting for a decision on task ${data.task_id}`;
        else if (data.review === true) step.note = 'output held for review';
        else step.note = typeof data.until === 'string' ? `durable timer until ${data.until.slice(11, 23)}` : 'waiting';
        break;
      case 'task.created':
        if (data.kind === 'tool_approval') {
          step.status = 'waiting';
          step.note = `tool call waiting for approval (task ${String(data.task_id)})`;
        }
        break;
      case 'task.escalated':
        step.note = `task escalated to ${String(data.role)}`;
        break;
      case 'child.started':
        step.status = 'waiting';
        step.note = `child run ${String(data.run_id)}`;
        break;
      case 'map.started':
        step.status = 'running';
        step.startedAt ??= event.at;
        step.items = { total: Number(data.items), succeeded: 0, failed: 0 };
        step.note = `0/${step.items.total} items`;
        break;
      case 'step.succeeded':
        step.status = 'succeeded';
        step.finishedAt = event.at;
        if (step.attempt > 1) step.note = `succeeded after ${plural(step.attempt - 1, 'retry').replace('retrys', 'retries')}`;
        else step.note = '';
        break;
      case 'step.failed':
        step.status = 'failed';
        step.finishedAt = event.at;
        step.note = errorMessage;
        break;
      case 'step.skipped':
        step.status = 'skipped';
        step.note = typeof data.when === 'string' ? `when: ${data.when}` : '';
        break;
      case 'step.cancelled':
        step.status = 'cancelled';
        step.finishedAt ??= event.at;
        break;
      case 'step.lease_expired':
        step.note = `lease expired on attempt ${step.attempt}`;
        break;
      case 'step.released':
        step.status = 'queued';
        step.note = `released by a stopping worker on attempt ${step.attempt}`;
        break;
      default:
        break;
    }
  }

  /** An event of one item of a map: counted on its map step. */
  private applyItem(event: ProgressEvent): void {
    const parent = this.steps.get(event.stepId!.slice(0, event.stepId!.indexOf('[')));
    if (!parent?.items) return;
    if (event.type === 'step.succeeded') parent.items.succeeded++;
    else if (event.type === 'step.failed') parent.items.failed++;
    else return;
    const { total, succeeded, failed } = parent.items;
    parent.note = `${succeeded + failed}/${total} items${failed ? ` · ${failed} failed` : ''}`;
  }

  private draw(): void {
    const columns = this.o.out.columns !== undefined && this.o.out.columns > 0 ? this.o.out.columns - 1 : 120;
    const lines = this.lines(columns);
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.o.out.write(`${up}\x1b[J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private lines(columns: number): string[] {
    const s = this.o.style;
    const elapsed = this.createdAt === undefined ? 0 : (this.finishedAt ?? this.now()) - this.createdAt;
    const look = STATUS_LOOK[this.runStatus] ?? { symbol: '?', color: 'gray' as const };
    const head = `${paint(s, 'bold', this.o.workflow)} ${paint(s, 'gray', this.o.runId)}  ${paint(s, look.color, this.runStatus)}  ${paint(s, 'gray', formatDuration(elapsed))}`;
    const idWidth = Math.max(...[...this.steps.keys()].map((id) => id.length), 4);
    const kindWidth = Math.max(...[...this.steps.values()].map((v) => v.kind.length), 4);
    const rows = [...this.steps.values()].map((step) => {
      const stepLook = STATUS_LOOK[step.status] ?? { symbol: '?', color: 'gray' as const };
      const symbol = step.status === 'running' ? (SPINNER[this.frame % SPINNER.length] ?? '▶') : stepLook.symbol;
      const ran = step.startedAt === undefined ? '' : formatDuration((step.finishedAt ?? this.now()) - step.startedAt);
      const attempts = step.attempt > 0 ? `attempt ${step.attempt}` : '';
      const cells = [
        paint(s, stepLook.color, symbol),
        pad(step.id, idWidth),
        paint(s, 'gray', pad(step.kind, kindWidth)),
        paint(s, stepLook.color, pad(step.status, 9)),
        pad(attempts, 10),
        pad(ran, 7),
      ];
      const fixed = `  ${cells.join(' ')} `;
      return `${fixed}${paint(s, 'gray', truncate(step.note, columns - visibleLength(fixed)))}`.trimEnd();
    });
    return [truncate(head, columns), ...rows];
  }

  private eventLine(event: ProgressEvent): string {
    const s = this.o.style;
    const offset = this.createdAt === undefined ? 0 : event.at - this.createdAt;
    const data = event.data;
    const details: string[] = [];
    if (typeof data.attempt === 'number') details.push(`attempt ${data.attempt}`);
    if (event.type === 'step.retry_scheduled' && typeof data.at === 'string') details.push(`retry at ${data.at.slice(11, 23)}`);
    if (event.type === 'step.waiting' && typeof data.until === 'string') details.push(`until ${data.until.slice(11, 23)}`);
    if (event.type === 'step.skipped' && typeof data.when === 'string') details.push(`when: ${data.when}`);
    if (event.type === 'step.guardrail') details.push(`guardrail ${String(data.phase)}[${String(data.index)}] ${String(data.check)}: ${String(data.action)}`);
    const error = (data.error as { code?: string; message?: string } | null | undefined) ?? undefined;
    if (error?.message) details.push(`${error.code ?? 'error'}: ${error.message}`);
    const time = paint(s, 'gray', pad(`+${formatDuration(offset)}`, 8));
    return `${time} ${pad(event.type, 20)} ${pad(event.stepId ?? '', 14)} ${details.join(' · ')}`.trimEnd();
  }
}

/** Cuts a line to `columns` visible characters (colour is dropped from a line that is cut). */
function truncate(line: string, columns: number): string {
  if (visibleLength(line) <= columns) return line;
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
  return columns <= 1 ? '' : `${plain.slice(0, columns - 1)}…`;
}
