/**
 * The runs of a tenant as they change (`GET /v1/runs/stream`): each run-level event (`run.*`:
 * created, started, waiting, resumed, blocked, ended) of a run the caller may list, with the
 * run as it is when read (with its cost), so a listing can be updated in place.
 *
 * Events are read from the store's time index (`queryEvents`), so every process's changes are
 * seen, on both stores; this process's own wake the reader at once (`waitForRunChange`),
 * others' are found at the next poll. Transactions do not commit in the order of their
 * events' times: a look at the index therefore goes back `settleMs` before the previous look
 * started (and, for this process's own changes, to the earliest time among those committed since
 * it), and an event already sent in that window is not sent again. Another process's change
 * committed more than `settleMs` after its time (or written by a process whose clock is that
 * far behind) is missed.
 *
 * A position is `<at>.<seq>.<run id>` of the last event sent (the stream's `id:`). Resuming
 * after one sends the changes from `settleMs` before it on, so a change near it may come
 * twice; each carries the run's whole state, so applying it again changes nothing. Never the
 * position's own run's earlier changes: a run's events are numbered in the order they commit.
 */
import { AgentryError } from '../lib/errors.js';
import { pause } from '../lib/sleep.js';
import type { WorkflowEvent } from '../store/store.js';
import { EVENT_TYPES, type EventType } from '../types.js';
import { runFilter, type Caller } from './caller.js';
import { iso } from './dto/common.js';
import { runListItemDto, type RunChangeDto } from './dto/runs.js';
import type { ServiceDeps } from './service-deps.js';

/** The run-level event types: a run's own changes, not its steps'. */
export const RUN_CHANGE_TYPES: readonly EventType[] = EVENT_TYPES.filter((type) => type.startsWith('run.'));

/** Events a look reads per query, and how many of the time index one query walks at most. */
const PAGE = 200;
const SCAN_LIMIT = 10_000;

/** The pattern of a position, for the `Last-Event-ID` header's schema. */
export const RUN_CHANGE_POSITION_PATTERN = '^\\d{1,16}\\.\\d{1,15}\\.[A-Za-z0-9_.:-]{1,128}$';

interface Position {
  at: number;
  seq: number;
  runId: string;
}

const positionText = (p: Position): string => `${p.at}.${p.seq}.${p.runId}`;

/** A position sent as a change's id; `invalid_request` for anything else. */
export function parseRunChangePosition(text: string): Position {
  const match = /^(\d{1,16})\.(\d{1,15})\.(.{1,128})$/s.exec(text);
  const at = Number(match?.[1]);
  const seq = Number(match?.[2]);
  if (!match?.[3] || !Number.isSafeInteger(at) || !Number.isSafeInteger(seq)) {
    throw new AgentryError('invalid_request', `'${text.slice(0, 64)}' is no run stream position (<time>.<seq>.<run id>, an id the stream sent)`);
  }
  return { at, seq, runId: match[3] };
}

export interface RunChangeOptions {
  /** Resume after this position (an id the stream sent); without it: the changes from now on. */
  after?: string;
  /** Only the runs of this workflow. */
  workflow?: string;
  signal?: AbortSignal;
  /** How long to wait between looks when nothing wakes the reader. */
  pollMs: number;
  /** How far back each look goes before the previous one started (see the module comment). */
  settleMs: number;
  /** Stop after one look (the changes up to now) instead of following. */
  once?: boolean;
}

/**
 * The changes of the runs `caller` may list, oldest first, until `signal` aborts. The position
 * is checked at once (`invalid_request`), before the first change is read.
 */
export function followRunChanges(deps: ServiceDeps, caller: Caller, options: RunChangeOptions): AsyncGenerator<RunChangeDto> {
  const after = options.after === undefined ? undefined : parseRunChangePosition(options.after);
  return changes(deps, caller, options, after);
}

async function* changes(deps: ServiceDeps, caller: Caller, options: RunChangeOptions, after: Position | undefined): AsyncGenerator<RunChangeDto> {
  const { signal, pollMs, settleMs, workflow } = options;
  const { store, waker } = deps;
  const scope = runFilter(caller);
  /** Positions sent whose time is inside the window the next look reads again (position → time). */
  const sent = new Map<string, number>();
  if (after) sent.set(positionText(after), after.at);
  let lookStart = after?.at ?? Date.now();
  /** The earliest time of this process's own run changes committed since the previous look began. */
  let ownSince: number | undefined;
  while (!signal?.aborted) {
    const version = waker?.runChangeVersion ?? 0;
    // This process's own changes are never missed, whatever the settle window: a look goes back to the earliest of them.
    const from = Math.min(lookStart - settleMs, ownSince ?? Number.POSITIVE_INFINITY);
    lookStart = Date.now();
    for (const [position, at] of sent) if (at < from) sent.delete(position);
    let cursor: string | undefined;
    do {
      const page = await store.queryEvents({
        ...scope,
        ...(workflow === undefined ? {} : { workflow }),
        ...(cursor === undefined ? {} : { cursor }),
        types: RUN_CHANGE_TYPES,
        from,
        limit: PAGE,
        scanLimit: SCAN_LIMIT,
      });
      const fresh = page.items.filter((event) => !sent.has(positionText(positionOf(event))) && !atOrBefore(event, after));
      if (fresh.length > 0) {
        const ids = [...new Set(fresh.map((event) => event.runId))];
        const runs = new Map((await store.listRuns({ ...scope, ids, limit: ids.length })).items.map((run) => [run.id, run]));
        for (const event of fresh) {
          const id = positionText(positionOf(event));
          sent.set(id, event.at);
          const run = runs.get(event.runId);
          // A run deleted (retention) between the two reads has nothing left to show.
          if (run !== undefined) yield { id, type: event.type, seq: event.seq, at: iso(event.at), run: runListItemDto(run) };
          if (signal?.aborted) return;
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && !signal?.aborted);
    if (options.once === true) return;
    if (waker?.waitForRunChange) await waker.waitForRunChange(pollMs, signal, version);
    else await pause(pollMs, signal);
    ownSince = waker?.earliestRunChangeSince?.(version);
  }
}

/** An event of the position's run numbered at or before it: committed no later than it, so not after it. */
function atOrBefore(event: WorkflowEvent, position: Position | undefined): boolean {
  return position !== undefined && event.runId === position.runId && event.seq <= position.seq;
}

function positionOf(event: WorkflowEvent): Position {
  return { at: event.at, seq: event.seq, runId: event.runId };
}
