/** Open tasks the user may decide, most urgent (earliest deadline) first, then newest; deadline countdowns. */
import { useEffect, useState } from 'react';
import { api, data, type Task } from '../api.ts';
import { Link } from '../router.tsx';
import { countdown } from '../time.ts';
import { ErrorNote, formatTime, useLoad } from '../util.tsx';

function urgency(a: Task, b: Task): number {
  if (a.due_at && b.due_at) return Date.parse(a.due_at) - Date.parse(b.due_at);
  if (a.due_at) return -1;
  if (b.due_at) return 1;
  return Date.parse(b.created_at) - Date.parse(a.created_at);
}

export function InboxPage() {
  const { value, error } = useLoad(async () => (await data(api.GET('/v1/tasks', { params: { query: { status: 'open', limit: 100 } } }))).items, [], 5000);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const tasks = [...(value ?? [])].sort(urgency);
  return (
    <section>
      <h1>Inbox</h1>
      <ErrorNote error={error} />
      {value !== undefined && tasks.length === 0 && <p>No open tasks for your roles.</p>}
      <ul className="cards">
        {tasks.map((t) => (
          <li key={t.id} className="card">
            <h2>
              <Link to={`tasks/${encodeURIComponent(t.id)}`}>{t.title}</Link>
            </h2>
            <p>
              {t.kind.replace('_', ' ')} · {t.workflow} / {t.step_id} {t.role && <>· role {t.role}</>}
            </p>
            <p>
              Opened {formatTime(t.created_at)}
              {t.due_at && (
                <>
                  {' · '}
                  <strong className={Date.parse(t.due_at) < now ? 'overdue' : ''}>{countdown(t.due_at, now)}</strong>
                </>
              )}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
