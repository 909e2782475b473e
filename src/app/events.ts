/**
 * Events across runs, for diagnosis: "what failed in workflow X between 14:00 and 15:00?". Every
 * run's events are in the store already (each transition appends its own); this is the query
 * side over all of them, scoped like a run listing: the caller's tenant, and its own runs unless
 * it reads every run (`runFilter`). The per-run history is `RunService.events`.
 */
import { AgentryError } from '../lib/errors.js';
import type { Store } from '../store/store.js';
import { EVENT_TYPES, type EventType } from '../types.js';
import { runFilter, type Caller } from './caller.js';
import { iso } from './dto/common.js';
import { EVENT_PAGE, workflowEventDto, type WorkflowEventPageDto } from './dto/events.js';

/** The families a `type` filter may name as `<family>.*`: the part of each event type before its dot. */
const FAMILIES = [...new Set(EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))))];

export interface EventListQuery {
  workflow?: string;
  /** Comma-separated event types, each exact (`run.failed`) or a family (`step.*`); any of them matches. */
  type?: string;
  runId?: string;
  stepId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  limit: number;
  cursor?: string;
}

/** The event types `type` names (see `EventListQuery.type`); `invalid_request` naming the parameter for anything else. */
function parseEventTypes(text: string): EventType[] {
  const types = new Set<EventType>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const family = part.endsWith('.*') ? part.slice(0, -2) : undefined;
    const matched = family === undefined ? EVENT_TYPES.filter((t) => t === part) : EVENT_TYPES.filter((t) => t.startsWith(`${family}.`));
    if (matched.length === 0) {
      throw new AgentryError(
        'invalid_request',
        `type: '${part}' is no event type; name types (${EVENT_TYPES.join(', ')}) or families (${FAMILIES.map((f) => `${f}.*`).join(', ')}), comma-separated`,
      );
    }
    for (const type of matched) types.add(type);
  }
  return [...types];
}

function checkQuery(query: EventListQuery): void {
  const { from, to, limit } = query;
  if (from !== undefined && to !== undefined && from > to) {
    throw new AgentryError('invalid_request', `from (${iso(from)}) is after to (${iso(to)})`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > EVENT_PAGE.maxLimit) {
    throw new AgentryError('invalid_request', `limit must be from 1 to ${EVENT_PAGE.maxLimit}`);
  }
}

export class EventService {
  constructor(private readonly store: Store) {}

  /**
   * A page of the events the caller may read that match `query`, in time order, and the cursor
   * of the next page. A page looks at no more than `EVENT_PAGE.scanLimit` events of the window,
   * so a narrow filter may give short pages, even empty ones, before the window's end.
   */
  async list(caller: Caller, query: EventListQuery): Promise<WorkflowEventPageDto> {
    checkQuery(query);
    const { type, ...rest } = query;
    const page = await this.store.queryEvents({
      ...rest,
      ...(type === undefined ? {} : { types: parseEventTypes(type) }),
      ...runFilter(caller),
      scanLimit: EVENT_PAGE.scanLimit,
    });
    return { items: page.items.map(workflowEventDto), next_cursor: page.nextCursor };
  }
}
