/** Who is signed in (`GET /v1/auth/whoami`), what their scopes allow, and how they sign in (API key or OIDC). */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, consoleBase, data, explain, storedKey, storeKey, UNAUTHORIZED_EVENT, type Whoami } from './api.ts';
import { finishOidcSignIn, isCallback, jwtPayload, loadOidcConfig, startOidcSignIn, type OidcConfig } from './oidc.ts';
import { navigate } from './router.tsx';

interface Session {
  me: Whoami | null;
  /** True while the stored key is being checked. */
  checking: boolean;
  /** The server's OIDC settings; null: API keys only. */
  oidc: OidcConfig | null;
  /** Why the person was signed out (an expired token, a refused sign-in), shown on the sign-in page. */
  notice: string | null;
  can: (scope: string) => boolean;
  signIn: (key: string) => Promise<string | null>;
  /** Sends the person to the OIDC issuer; returns a sentence when it cannot. */
  signInWithOidc: () => Promise<string | null>;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Whoami | null>(null);
  const [oidc, setOidc] = useState<OidcConfig | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null || isCallback());
  const check = useCallback(async (): Promise<string | null> => {
    try {
      setMe(await data(api.GET('/v1/auth/whoami')));
      return null;
    } catch (error) {
      storeKey(null);
      setMe(null);
      return explain(error);
    } finally {
      setChecking(false);
    }
  }, []);
  const signOutWith = useCallback((message: string | null) => {
    storeKey(null);
    setMe(null);
    setNotice(message);
  }, []);
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const config = await loadOidcConfig().catch(() => null);
      if (cancelled) return;
      setOidc(config);
      if (isCallback()) {
        try {
          if (config === null) throw new Error('This server has no OIDC sign-in configured.');
          storeKey(await finishOidcSignIn(config, (to) => navigate(to, true)));
        } catch (error) {
          storeKey(null);
          setNotice(error instanceof Error ? error.message : String(error));
          setChecking(false);
          return;
        }
      }
      if (storedKey() !== null) {
        const problem = await check();
        if (problem !== null) setNotice(problem);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [check]);
  useEffect(() => {
    const onUnauthorized = () => signOutWith('Your session has ended (the token expired or was revoked). Sign in again.');
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [signOutWith]);
  // A token with an `exp` signs out when it expires, before a request is refused.
  useEffect(() => {
    const key = storedKey();
    const exp = me === null || key === null ? undefined : jwtPayload(key)?.exp;
    if (typeof exp !== 'number') return;
    const timer = setTimeout(() => signOutWith('Your sign-in has expired. Sign in again.'), Math.max(0, Math.min(exp * 1000 - Date.now(), 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [me, signOutWith]);
  const session: Session = {
    me,
    checking,
    oidc,
    notice,
    can: (scope) => me?.scopes.includes(scope) ?? false,
    signIn: async (key) => {
      setNotice(null);
      storeKey(key.trim());
      return check();
    },
    signInWithOidc: async () => {
      if (oidc === null) return 'This server has no OIDC sign-in configured.';
      try {
        await startOidcSignIn(oidc, returnPath());
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
    signOut: () => signOutWith(null),
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

/** The page to come back to after the issuer's sign-in: the current one, relative to the console. */
function returnPath(): string {
  const path = location.pathname.startsWith(consoleBase) ? location.pathname.slice(consoleBase.length) : '';
  return path === 'auth/callback' ? '' : path + location.search;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}
