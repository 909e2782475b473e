/** A run: its graph updated live from the event stream, the selected step's panel, the event timeline and the actions. */
import { useEffect, useMemo, useState } from 'react';
import { api, data, followEvents, type RunDetail, type RunEvent, type Workflow } from '../api.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ConfirmButton, ErrorNote, formatDuration, formatTime, formatUsd, StatusBadge, between, useLoad } from '../util.tsx';
import { Dag } from './dag.tsx';
import type { DagNode } from './layout.ts';
import { StepPanel } from './step-panel.tsx';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

type ItemCounts = NonNullable<DagNode['items']>;

/** The graph's nodes: the workflow's steps (with `needs` when the spec is readable), their status from the run. */
function nodesOf(run: RunDetail, workflow: Workflow | undefined, items: ReadonlyMap<string, ItemCounts>): DagNode[] {
  const steps = new Map(run.steps.map((s) => [s.id, s]));
  const top = workflow?.steps ?? run.steps.map((s) => ({ id: s.id, kind: s.kind, needs: [] as string[] }));
  return top.map((spec) => {
    const counts = items.get(spec.id);
    const child = run.children.find((c) => c.step_id === spec.id);
    return {
      id: spec.id,
      kind: spec.kind,
      needs: spec.needs,
      status: steps.get(spec.id)?.status ?? 'pending',
      ...(counts ? { items: counts } : {}),
      ...(child ? { child: child.id } : {}),
    };
  });
}

/** How many items each started `for_each` step has, and how many ended (`GET …/items`). */
async function itemCounts(run: RunDetail, workflow: Workflow | undefined): Promise<Map<string, ItemCounts>> {
  const started = new Set(run.steps.filter((s) => s.status !== 'pending').map((s) => s.id));
  const mapSteps = (workflow?.steps ?? []).filter((s) => s.for_each && started.has(s.id));
  const counts = new Map<string, ItemCounts>();
  await Promise.all(
    mapSteps.map(async (s) => {
      const page = await data(api.GET('/v1/runs/{id}/steps/{step}/items', { params: { path: { id: run.id, step: s.id }, query: { limit: 1000 } } }));
      counts.set(s.id, {
        total: page.items.length + (page.next_offset === null ? 0 : 1),
        done: page.items.filter((i) => TERMINAL.has(i.status) || i.status === 'skipped').length,
        failed: page.items.filter((i) => i.status === 'failed').length,
      });
    }),
  );
  return counts;
}

export function RunPage({ id }: { id: string }) {
  const { can } = useSession();
  const [run, setRun] = useState<RunDetail>();
  const [error, setError] = useState<unknown>(null);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const refresh = () => setTick((t) => t + 1);

  useEffect(() => {
    let stale = false;
    data(api.GET('/v1/runs/{id}', { params: { path: { id } } })).then(
      (r) => !stale && (setRun(r), setError(null)),
      (e: unknown) => !stale && setError(e),
    );
    return () => {
      stale = true;
    };
  }, [id, tick]);

  // The event timeline, then the stream: each new event refreshes the run (a burst once).
  useEffect(() => {
    setEvents([]);
    let pending: ReturnType<typeof setTimeout> | undefined;
    let stop = () => {};
    let cancelled = false;
    void data(api.GET('/v1/runs/{id}/events', { params: { path: { id }, query: { limit: 1000 } } })).then(
      (answer) => {
        // JSON (no `Accept: text/event-stream`): the page of events.
        const page = answer as Exclude<typeof answer, string>;
        if (cancelled) return;
        setEvents(page.items);
        stop = followEvents(
          id,
          page.next_after,
          (event) => {
            setEvents((list) => (list.some((e) => e.seq === event.seq) ? list : [...list, event]));
            clearTimeout(pending);
            pending = setTimeout(refresh, 100);
          },
          refresh,
        );
      },
      (e: unknown) => setError(e),
    );
    return () => {
      cancelled = true;
      clearTimeout(pending);
      stop();
    };
  }, [id]);

  const { value: workflows } = useLoad(async () => (can('specs:read') ? (await data(api.GET('/v1/workflows'))).items : []), [can('specs:read')]);
  const workflow = useMemo(() => workflows?.find((w) => w.name === run?.workflow && w.spec_hash === run.spec_hash), [workflows, run]);
  const items = useLoad(async () => (run ? itemCounts(run, workflow) : new Map<string, ItemCounts>()), [run?.last_event_seq, workflow]);

  if (run === undefined)
    return (
      <section>
        <h1>Run {id}</h1>
        {error ? <ErrorNote error={error} /> : <p>Loading…</p>}
      </section>
    );
  const nodes = nodesOf(run, workflow, items.value ?? new Map<string, ItemCounts>());
  const write = can('runs:write');
  const terminal = TERMINAL.has(run.status);
  return (
    <section className="run">
      <h1>
        Run <code>{run.id}</code> <StatusBadge status={run.status} />
      </h1>
      <dl className="facts">
        <dt>Workflow</dt>
        <dd>{run.workflow}</dd>
        <dt>Started</dt>
        <dd>{formatTime(run.started_at ?? run.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(between(run.started_at, run.finished_at))}</dd>
        <dt>Cost</dt>
        <dd>
          {formatUsd(run.usage.cost_usd)} ({run.usage.input_tokens + run.usage.output_tokens} tokens)
        </dd>
        {run.parent && (
          <>
            <dt>Parent</dt>
            <dd>
              <Link to={`runs/${run.parent.run_id}`}>{run.parent.run_id}</Link> (step {run.parent.step_id})
            </dd>
          </>
        )}
        {run.retry_of && (
          <>
            <dt>Retry of</dt>
            <dd>
              <Link to={`runs/${run.retry_of}`}>{run.retry_of}</Link>
            </dd>
          </>
        )}
      </dl>
      <ErrorNote error={error} />
      {run.error && (
        <p className="error">
          {run.error.code}: {run.error.message}
        </p>
      )}
      {write && <RunActions run={run} steps={nodes.map((n) => n.id)} terminal={terminal} onDone={refresh} />}
      <div className="run-body">
        <Dag nodes={nodes} selected={selected} onSelect={setSelected} />
        {selected !== null && <StepPanel run={run} stepId={selected} node={nodes.find((n) => n.id === selected)} onClose={() => setSelected(null)} />}
      </div>
      <h2>Events</h2>
      <ol className="timeline" aria-label="Event timeline" tabIndex={0}>
        {events.map((e) => (
          <li key={e.seq}>
            <time dateTime={e.at}>{formatTime(e.at)}</time> <span className="event-type">{e.type}</span>
            {e.step_id && <span className="event-step"> {e.step_id}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function RunActions({ run, steps, terminal, onDone }: { run: RunDetail; steps: string[]; terminal: boolean; onDone: () => void }) {
  const [fromStep, setFromStep] = useState(steps[0] ?? '');
  const [signal, setSignal] = useState('');
  const [payload, setPayload] = useState('{}');
  const path = { params: { path: { id: run.id } } };
  return (
    <div className="actions" role="group" aria-label="Run actions">
      {!terminal && (
        <ConfirmButton
          label="Cancel run"
          danger
          question={`Cancel run ${run.id}? Running steps are stopped; this cannot be undone.`}
          confirmLabel="Cancel the run"
          action={async () => {
            await data(api.POST('/v1/runs/{id}/cancel', { ...path, body: { reason: 'cancelled from the console' } }));
            onDone();
          }}
        />
      )}
      {terminal && run.status !== 'succeeded' && (
        <ConfirmButton
          label="Retry"
          question={`Start a new run of ${run.workflow} with the same input, reusing the steps that succeeded?`}
          action={async () => {
            const next = await data(api.POST('/v1/runs/{id}/retry', { ...path, body: {} }));
            navigate(`runs/${next.id}`);
          }}
        />
      )}
      {terminal && (
        <ConfirmButton
          label="Re-run from a step"
          question="Start a new run that keeps the outputs of the steps before the one chosen and runs it and everything after it again."
          confirmLabel="Re-run"
          action={async () => {
            const next = await data(api.POST('/v1/runs/{id}/retry', { ...path, body: { from_step: fromStep } }));
            navigate(`runs/${next.id}`);
          }}
        >
          <label>
            From step
            <select value={fromStep} onChange={(e) => setFromStep(e.target.value)}>
              {steps.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </ConfirmButton>
      )}
      {!terminal && (
        <ConfirmButton
          label="Send signal"
          question="Send a signal to this run (a step waiting for it resumes)."
          confirmLabel="Send"
          action={async () => {
            let body: unknown;
            try {
              body = JSON.parse(payload);
            } catch {
              throw new Error('The payload is not valid JSON.');
            }
            await data(api.POST('/v1/runs/{id}/signals/{name}', { params: { path: { id: run.id, name: signal } }, body }));
            onDone();
          }}
        >
          <label>
            Signal name
            <input required value={signal} onChange={(e) => setSignal(e.target.value)} />
          </label>
          <label>
            Payload (JSON)
            <textarea value={payload} onChange={(e) => setPayload(e.target.value)} rows={3} />
          </label>
        </ConfirmButton>
      )}
    </div>
  );
}
