/** The selected step: status, duration, error, attempts with their input and output, a child run, and an agent's journal. */
import { api, data, type RunDetail } from '../api.ts';
import { Link } from '../router.tsx';
import { ErrorNote, formatDuration, formatTime, formatUsd, StatusBadge, useLoad } from '../util.tsx';
import type { DagNode } from './layout.ts';

function Json({ value }: { value: unknown }) {
  return (
    <pre className="json" tabIndex={0}>
      {value === undefined || value === null ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function StepPanel({ run, stepId, node, onClose }: { run: RunDetail; stepId: string; node: DagNode | undefined; onClose: () => void }) {
  const step = run.steps.find((s) => s.id === stepId);
  const params = { params: { path: { id: run.id, step: stepId } } };
  const attempts = useLoad(
    async () => (step ? (await data(api.GET('/v1/runs/{id}/steps/{step}/attempts', params))).items : []),
    [run.id, stepId, step?.status],
  );
  const journal = useLoad(
    async () => (node?.kind === 'agent' && step ? data(api.GET('/v1/runs/{id}/steps/{step}/journal', params)) : undefined),
    [run.id, stepId, step?.status],
  );
  return (
    <aside className="panel" aria-label={`Step ${stepId}`}>
      <header>
        <h2>
          Step <code>{stepId}</code>
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the step panel">
          ×
        </button>
      </header>
      <p>
        <StatusBadge status={step?.status ?? 'pending'} /> {node?.kind} · {formatDuration(step?.duration_ms)} · attempt {step?.attempt ?? 0}
      </p>
      {node?.items && (
        <p>
          Items: {node.items.done} of {node.items.total} done{node.items.failed > 0 ? `, ${node.items.failed} failed` : ''}
        </p>
      )}
      {node?.child && (
        <p>
          Child run: <Link to={`runs/${node.child}`}>{node.child}</Link>
        </p>
      )}
      {step?.error && (
        <p className="error">
          {step.error.code}: {step.error.message}
        </p>
      )}
      <h3>Output</h3>
      <Json value={step?.output} />
      <h3>Attempts</h3>
      <ErrorNote error={attempts.error} />
      {attempts.value?.length === 0 && <p>None yet.</p>}
      {attempts.value?.map((a) => (
        <details key={a.attempt} open={a.attempt === attempts.value?.length}>
          <summary>
            Attempt {a.attempt}: {a.status}, {formatTime(a.started_at)}
          </summary>
          <h4>Input</h4>
          <Json value={a.input} />
          <h4>Output</h4>
          <Json value={a.output} />
          {a.error && (
            <p className="error">
              {a.error.code}: {a.error.message}
            </p>
          )}
        </details>
      ))}
      {journal.value && (
        <>
          <h3>Journal</h3>
          <p>
            {journal.value.totals.turns} turns, {journal.value.totals.llm_calls} model calls, {journal.value.totals.tool_calls} tool calls,{' '}
            {formatUsd(journal.value.totals.cost_usd)}
          </p>
          <ol className="journal">
            {journal.value.turns.map((t, i) => (
              <li key={i}>
                <strong>{t.model.group}</strong> ({t.model.model}, {t.model.input_tokens}→{t.model.output_tokens} tokens)
                {t.content && <p>{t.content}</p>}
                {t.tool_calls.length > 0 && <p>Tools: {t.tool_calls.map((c) => `${c.function} (${c.status})`).join(', ')}</p>}
              </li>
            ))}
          </ol>
        </>
      )}
      <ErrorNote error={journal.error} />
    </aside>
  );
}
