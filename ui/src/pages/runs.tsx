/** Runs: newest first, filtered by status, workflow, time range and id; cursor paging; refreshed every few seconds. */
import { useState, type FormEvent } from 'react';
import { api, data, type Run } from '../api.ts';
import { Link, navigate, useRoute } from '../router.tsx';
import { between, ErrorNote, formatDuration, formatTime, StatusBadge, useLoad } from '../util.tsx';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
const POLL_MS = 3000;

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

export function RunsPage() {
  const { query } = useRoute();
  const filters = filtersOf(query);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const key = JSON.stringify(filters);
  const { value, error } = useLoad(
    async () => {
      const id = filters.id.trim();
      if (id !== '') {
        // Search by id: the run itself (ids are exact), shown as a one-row list.
        const found = await api.GET('/v1/runs/{id}', { params: { path: { id } } });
        const items: Run[] = found.data ? [found.data] : [];
        return { items, next_cursor: null };
      }
      return data(
        api.GET('/v1/runs', {
          params: {
            query: {
              limit: 25,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.workflow ? { workflow: filters.workflow } : {}),
              ...(instant(filters.from) ? { created_after: instant(filters.from) } : {}),
              ...(instant(filters.to) ? { created_before: instant(filters.to) } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      );
    },
    [key, cursor],
    POLL_MS,
  );
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
          <input {...field('id')} placeholder="run_…" />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} />
      <div className="table-wrap" tabIndex={0}>
        <table>
          <caption className="visually-hidden">Runs, newest first (refreshed every {POLL_MS / 1000} s)</caption>
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
            {value?.items.map((run) => (
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
                <td>
                  <RunCost run={run} />
                </td>
              </tr>
            ))}
            {value?.items.length === 0 && (
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

/** A run's LLM cost from its detail (the list does not carry it); '—' until known. */
function RunCost({ run }: { run: Run }) {
  const { value } = useLoad(async () => (await api.GET('/v1/runs/{id}', { params: { path: { id: run.id } } })).data?.usage.cost_usd, [run.id, run.status]);
  return <>{value === undefined ? '—' : `$${value.toFixed(value >= 1 ? 2 : 4)}`}</>;
}
