/** The console's entry: session, router, the navigation and the page for the current path. */
import { StrictMode, useState, type FormEvent, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { Link, RouterProvider, useRoute } from './router.tsx';
import { SessionProvider, useSession } from './session.tsx';
import { RunsPage } from './pages/runs.tsx';
import { RunPage } from './pages/run.tsx';
import { InboxPage } from './pages/inbox.tsx';
import { TaskPage } from './pages/task.tsx';
import { UsagePage } from './pages/usage.tsx';
import { ToolsPage } from './pages/tools.tsx';
import { SchedulesPage } from './pages/schedules.tsx';

const NAV: { to: string; label: string; scope: string; match: RegExp }[] = [
  { to: '', label: 'Runs', scope: 'runs:read', match: /^(runs(\/.*)?)?$/ },
  { to: 'inbox', label: 'Inbox', scope: 'tasks:read', match: /^(inbox|tasks\/.*)$/ },
  { to: 'usage', label: 'Usage', scope: 'usage:read', match: /^usage$/ },
  { to: 'tools', label: 'Tools', scope: 'tools:read', match: /^tools$/ },
  { to: 'schedules', label: 'Schedules', scope: 'runs:read', match: /^schedules$/ },
];

function SignIn() {
  const { signIn, signInWithOidc, oidc, notice } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(await signIn(key));
  };
  return (
    <main id="main" className="sign-in">
      <h1>Agentry console</h1>
      {notice !== null && error === null && (
        <p role="alert" className="error">
          {notice}
        </p>
      )}
      {oidc !== null && (
        <p>
          <button type="button" className="primary" onClick={() => void signInWithOidc().then(setError)}>
            Sign in with single sign-on
          </button>
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="current-password" required value={key} onChange={(e) => setKey(e.target.value)} />
        <p className="hint">Kept in this tab's session storage only, and sent to this server as a bearer token.</p>
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}

function Page() {
  const { path } = useRoute();
  const { can } = useSession();
  const run = /^runs\/([^/]+)$/.exec(path);
  const task = /^tasks\/([^/]+)$/.exec(path);
  const needs = (scope: string, page: ReactElement) => (can(scope) ? page : <NotAllowed scope={scope} />);
  if (run) return needs('runs:read', <RunPage id={decodeURIComponent(run[1]!)} />);
  if (task) return needs('tasks:read', <TaskPage id={decodeURIComponent(task[1]!)} />);
  switch (path) {
    case '':
    case 'runs':
      return needs('runs:read', <RunsPage />);
    case 'inbox':
      return needs('tasks:read', <InboxPage />);
    case 'usage':
      return needs('usage:read', <UsagePage />);
    case 'tools':
      return needs('tools:read', <ToolsPage />);
    case 'schedules':
      return needs('runs:read', <SchedulesPage />);
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no console page here. <Link to="">Go to the runs.</Link>
          </p>
        </section>
      );
  }
}

function NotAllowed({ scope }: { scope: string }) {
  return (
    <section>
      <h1>Not allowed</h1>
      <p>
        Your key lacks the <code>{scope}</code> scope this page needs.
      </p>
    </section>
  );
}

function Shell() {
  const { me, checking, can, signOut } = useSession();
  const { path } = useRoute();
  if (checking) return <p className="loading">Signing in…</p>;
  if (me === null) return <SignIn />;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Agentry</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => can(n.scope)).map((n) => (
              <li key={n.label}>
                <Link to={n.to} aria-current={n.match.test(path) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" title={me.scopes.join(', ')}>
          {me.principal} <small>({me.roles.join(', ') || 'no role'})</small>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider>
      <RouterProvider>
        <Shell />
      </RouterProvider>
    </SessionProvider>
  </StrictMode>,
);
