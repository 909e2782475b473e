/**
 * Runs: newest first, filtered by status, workflow, time range and a piece of the id; cursor
 * paging. Kept live by the run stream (`GET /v1/runs/stream`), not by polling: a change
 * replaces its run's row in place, and a new run that matches the filters appears at the top
 * of the first page.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, data, followRunChanges, type Run } from '../api.ts';
import { Link, navigate, useRoute } from '../router.tsx';
import { between, ErrorNote, formatDuration, formatTime, StatusBadge, useLoad } from '../util.tsx';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
const PAGE_SIZE = 25;
/** The most changed runs remembered per page (the oldest are forgotten first). */
const MAX_CHANGED = 500;

interface Filters {
  status: string;
  workflow: string;
  from: string;
  to: string;
  id: string;
}

function filtersOf(query: URLSearchParams): Filters {
  return {
    status: query.get('status') ?? '',
    workflow: query.get('workflow') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    id: query.get('id') ?? '',
  };
}

/** A `datetime-local` value as an ISO instant, or undefined when empty or not a date. */
function instant(local: string): string | undefined {
  if (local === '') return undefined;
  const t = Date.parse(local);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Whether a run the list has not loaded belongs in it: what the server's filters would say. */
function matches(run: Run, filters: Filters): boolean {
  const created = Date.parse(run.created_at);
  const from = instant(filters.from);
  const to = instant(filters.to);
  const q = filters.id.trim().toLowerCase();
  return (
    (filters.status === '' || filters.status.split(',').includes(run.status)) &&
    (filters.workflow === '' || filters.workflow === run.workflow) &&
    (from === undefined || created >= Date.parse(from)) &&
    (to === undefined || created < Date.parse(to)) &&
    (q === '' || run.id.includes(q))
  );
}

/**
 * The loaded page with the changes the stream brought: each run at its newest state (by its
 * event counter); on the first page, runs not loaded that match the filters come first, newest
 * first.
 */
function merged(items: readonly Run[], changed: ReadonlyMap<string, Run>, filters: Filters, firstPage: boolean): Run[] {
  const newest = (run: Run): Run => {
    const change = changed.get(run.id);
    return change !== undefined && change.last_event_seq >= run.last_event_seq ? change : run;
  };
  const loaded = new Set(items.map((run) => run.id));
  const added = firstPage ? [...changed.values()].filter((run) => !loaded.has(run.id) && matches(run, filters)) : [];
  added.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  return [...added, ...items.map(newest)];
}

export function RunsPage() {
  const { query } = useRoute();
  const filters = filtersOf(query);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const key = JSON.stringify(filters);
  const { value, error } = useLoad(async () => {
    const q = filters.id.trim();
    return data(
      api.GET('/v1/runs', {
        params: {
          query: {
            limit: PAGE_SIZE,
            ...(filters.status ? { status: filters.status } : {}),
            ...(filters.workflow ? { workflow: filters.workflow } : {}),
            ...(instant(filters.from) ? { created_after: instant(filters.from) } : {}),
            ...(instant(filters.to) ? { created_before: instant(filters.to) } : {}),
            ...(q !== '' ? { q } : {}),
            ...(cursor ? { cursor } : {}),
          },
        },
      }),
    );
  }, [key, cursor]);
  // The runs the stream changed while this page is shown, by id (newest state).
  const [changed, setChanged] = useState<ReadonlyMap<string, Run>>(new Map());
  useEffect(() => {
    setChanged(new Map());
    return followRunChanges(({ run }) =>
      setChanged((before) => {
        const known = before.get(run.id);
        if (known !== undefined && known.last_event_seq > run.last_event_seq) return before;
        const next = new Map(before);
        next.delete(run.id);
        next.set(run.id, run);
        while (next.size > MAX_CHANGED) next.delete(next.keys().next().value!);
        return next;
      }),
    );
  }, [key, cursor]);
  const rows = useMemo(() => (value ? merged(value.items, changed, filters, cursor === undefined) : undefined), [value, changed, key, cursor]);
  const [draft, setDraft] = useState<Filters>(filters);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(draft).filter(([, v]) => v !== ''));
    setCursors([]);
    navigate(q.size > 0 ? `runs?${q.toString()}` : 'runs');
  };
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }),
  });
  return (
    <section>
      <h1>Runs</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter runs">
        <label>
          Status
          <select {...field('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <input {...field('workflow')} placeholder="name" />
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <label>
          Run id
          <input {...field('id')} placeholder="part of an id" maxLength={64} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} />
      <div className="table-wrap" tabIndex={0}>
        <table>
          <caption className="visually-hidden">Runs, newest first (updated live)</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((run) => (
              <tr key={run.id} data-run={run.id}>
                <td>
                  <Link to={`runs/${encodeURIComponent(run.id)}`}>{run.id}</Link>
                </td>
                <td>{run.workflow}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{formatTime(run.started_at ?? run.created_at)}</td>
                <td>{formatDuration(between(run.started_at, run.finished_at))}</td>
                <td>{formatCost(run.cost_usd)}</td>
              </tr>
            ))}
            {rows?.length === 0 && (
              <tr>
                <td colSpan={6}>No runs match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!value?.next_cursor} onClick={() => value?.next_cursor && setCursors([...cursors, value.next_cursor])}>
          Older
        </button>
      </nav>
    </section>
  );
}

/** A run's LLM cost, in dollars (more digits below a dollar). */
function formatCost(usd: number): string {
  return `$${usd.toFixed(usd >= 1 ? 2 : 4)}`;
}
