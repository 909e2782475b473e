/** A task: its context and instructions, a form from its schema, and the decision with a comment; refusals in plain words. */
import { useState, type FormEvent } from 'react';
import { api, ApiError, data, explain, type Task } from '../api.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ErrorNote, formatTime, StatusBadge, useLoad } from '../util.tsx';
import { SchemaFields } from './schema-form.tsx';
import { check, initialValue, prune, type Schema } from './schema.ts';
import { countdown } from '../time.ts';

type Decision = 'approve' | 'reject' | 'submit';

/** Why a decision was refused, for the person deciding. */
function refusal(error: unknown): string {
  if (error instanceof ApiError) {
    const { code, detail } = error.problem;
    if (code === 'conflict') return `This task can no longer be decided here: it was decided elsewhere, expired or was cancelled. (${detail})`;
    if (code === 'resource_locked') return `Someone else is deciding this task right now. Reload in a moment to see their decision. (${detail})`;
    if (code === 'invalid_request' || code === 'validation_failed') return `The form was refused: ${detail}`;
  }
  return explain(error);
}

export function TaskPage({ id }: { id: string }) {
  const { can } = useSession();
  const { value: task, error, reload } = useLoad(() => data(api.GET('/v1/tasks/{id}', { params: { path: { id } } })), [id]);
  if (task === undefined)
    return (
      <section>
        <h1>Task</h1>
        {error ? <ErrorNote error={error} /> : <p>Loading…</p>}
      </section>
    );
  return (
    <section className="task">
      <h1>
        {task.title} <StatusBadge status={task.status} />
      </h1>
      <p>
        Run <Link to={`runs/${task.run_id}`}>{task.run_id}</Link>, step <code>{task.step_id}</code> of {task.workflow} · opened {formatTime(task.created_at)}
        {task.due_at && task.status === 'open' && <> · {countdown(task.due_at, Date.now())}</>}
      </p>
      {task.instructions && <p className="instructions">{task.instructions}</p>}
      <h2>Context</h2>
      <pre className="json" tabIndex={0}>
        {JSON.stringify(task.context, null, 2)}
      </pre>
      {task.status === 'open' ? (
        can('tasks:write') ? (
          <DecisionForm task={task} onDone={reload} />
        ) : (
          <p>Your key may read tasks but not decide them.</p>
        )
      ) : (
        <p>
          Decided: <strong>{task.decision ?? task.status}</strong>
          {task.decided_by && <> by {task.decided_by}</>} {task.decided_at && <>at {formatTime(task.decided_at)}</>}
          {task.comment && <> — “{task.comment}”</>}
        </p>
      )}
    </section>
  );
}

function DecisionForm({ task, onDone }: { task: Task; onDone: () => void }) {
  const schema = (task.form_schema ?? null) as Schema | null;
  const [value, setValue] = useState(() => (schema ? initialValue(schema) : undefined));
  const [comment, setComment] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (decision: Decision) => {
    setError(null);
    if (decision !== 'reject' && schema) {
      const found = check(schema, value);
      setProblems(found);
      if (Object.keys(found).length > 0) {
        setError('Some fields need attention: see the messages next to them.');
        return;
      }
    }
    setBusy(true);
    try {
      await data(
        api.POST('/v1/tasks/{id}/complete', {
          params: { path: { id: task.id } },
          body: { decision, ...(comment ? { comment } : {}), ...(decision !== 'reject' && schema ? { data: prune(value) } : {}) },
        }),
      );
      onDone();
    } catch (e) {
      setError(refusal(e));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    void decide((submitter?.value as Decision | undefined) ?? (schema ? 'submit' : 'approve'));
  };
  const primary: Decision = task.kind === 'human' && schema ? 'submit' : 'approve';
  return (
    <form className="decision" onSubmit={submit} noValidate aria-label="Decide the task">
      {schema && (
        <>
          <h2>Form</h2>
          <SchemaFields schema={schema} value={value} onChange={setValue} problems={problems} />
        </>
      )}
      <div className="field">
        <label htmlFor="task-comment">Comment</label>
        <textarea id="task-comment" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
      </div>
      {error !== null && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" value={primary} className="primary" disabled={busy}>
          {primary === 'submit' ? 'Submit' : 'Approve'}
        </button>
        {primary === 'submit' && task.kind !== 'human' && (
          <button type="submit" value="approve" disabled={busy}>
            Approve
          </button>
        )}
        <button type="submit" value="reject" className="danger" disabled={busy}>
          Reject
        </button>
      </div>
    </form>
  );
}
