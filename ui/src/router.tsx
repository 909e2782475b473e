/** A small router on the History API: paths under the console's base, links that push state. */
import { createContext, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';
import { consoleBase } from './api.ts';

/** The page's path under the console (`runs/run_…`, '' for the first page) and its query. */
function currentPath(): string {
  const path = location.pathname.startsWith(consoleBase) ? location.pathname.slice(consoleBase.length) : location.pathname.replace(/^\//, '');
  return path + location.search;
}

const RouteContext = createContext<string>('');

export function navigate(to: string, replace = false): void {
  const url = consoleBase + to.replace(/^\//, '');
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function RouterProvider({ children }: { children: ReactNode }) {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onPop = () => setPath(currentPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return <RouteContext.Provider value={path}>{children}</RouteContext.Provider>;
}

/** The current path (without the query) and the query's parameters. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const full = useContext(RouteContext);
  const [path = '', search = ''] = full.split('?');
  return { path, query: new URLSearchParams(search) };
}

/** A link to a console page (`to` relative to the console's base). */
export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={consoleBase + to.replace(/^\//, '')} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
