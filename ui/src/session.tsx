/** Who is signed in (`GET /v1/auth/whoami`) and what their scopes allow. */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, data, explain, storedKey, storeKey, type Whoami } from './api.ts';

interface Session {
  me: Whoami | null;
  /** True while the stored key is being checked. */
  checking: boolean;
  can: (scope: string) => boolean;
  signIn: (key: string) => Promise<string | null>;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Whoami | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
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
  useEffect(() => {
    if (storedKey() !== null) void check();
  }, [check]);
  const session: Session = {
    me,
    checking,
    can: (scope) => me?.scopes.includes(scope) ?? false,
    signIn: async (key) => {
      storeKey(key.trim());
      return check();
    },
    signOut: () => {
      storeKey(null);
      setMe(null);
    },
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}
