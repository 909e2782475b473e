/**
 * Sign-in with OIDC: authorization code + PKCE (S256), as a public client (no secret). The
 * server says which issuer, client id and scopes (`/ui/config.json`); the issuer's discovery
 * document says where to send the person and where to exchange the code. `state`, `nonce` and
 * the code verifier wait in session storage during the round trip; the token the issuer returns
 * is kept in session storage like an API key and sent as the bearer. The code never stays in
 * the address bar: the callback's URL is replaced before the exchange.
 */
import { consoleBase } from './api.ts';

const PENDING_ITEM = 'agentry.console.oidc';

export interface OidcConfig {
  issuer: string;
  client_id: string;
  audience: string;
  scopes: string;
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  tokenEndpoint: string;
  returnTo: string;
}

/** The console's OIDC settings, or null when the server has none (API keys only). */
export async function loadOidcConfig(): Promise<OidcConfig | null> {
  const response = await fetch(`${consoleBase}config.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) return null;
  const body = (await response.json()) as { oidc?: OidcConfig | null };
  return body.oidc ?? null;
}

/** Where the issuer sends the person back: register this URI with the issuer. */
export function redirectUri(): string {
  return `${location.origin}${consoleBase}auth/callback`;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const where = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(where, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`The sign-in provider's discovery document (${where}) answered ${response.status}.`);
  const doc = (await response.json()) as { issuer?: unknown; authorization_endpoint?: unknown; token_endpoint?: unknown };
  if (doc.issuer !== issuer) throw new Error(`The sign-in provider's discovery document names another issuer (${String(doc.issuer)}).`);
  if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string')
    throw new Error("The sign-in provider's discovery document has no authorization or token endpoint.");
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** Sends the person to the issuer's sign-in page; they come back to `auth/callback`. */
export async function startOidcSignIn(config: OidcConfig, returnTo: string): Promise<void> {
  const endpoints = await discover(config.issuer);
  const pending: Pending = { state: randomString(), nonce: randomString(), verifier: randomString(), tokenEndpoint: endpoints.token_endpoint, returnTo };
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending.verifier)));
  sessionStorage.setItem(PENDING_ITEM, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('scope', config.scopes);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', base64url(digest));
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url.href);
}

/** True on the callback page (`auth/callback`). */
export function isCallback(): boolean {
  return location.pathname === `${consoleBase}auth/callback`;
}

/** A JWT's payload (not verified: the API verifies the token; this reads `nonce` and `exp`). */
export function jwtPayload(token: string): { nonce?: unknown; exp?: unknown } | null {
  const part = token.split('.')[1];
  if (part === undefined || token.split('.').length !== 3) return null;
  try {
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { nonce?: unknown; exp?: unknown };
  } catch {
    return null;
  }
}

/**
 * Finishes the round trip on `auth/callback`: takes the code off the address bar (the page
 * becomes the one the person signed in from), checks `state`, exchanges the code with the PKCE
 * verifier and checks the ID token's `nonce`. Returns the bearer token, or throws a sentence.
 */
export async function finishOidcSignIn(config: OidcConfig, replaceUrl: (to: string) => void): Promise<string> {
  const params = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING_ITEM);
  sessionStorage.removeItem(PENDING_ITEM);
  let pending: Pending | null = null;
  try {
    pending = raw === null ? null : (JSON.parse(raw) as Pending);
  } catch {
    pending = null;
  }
  replaceUrl(pending?.returnTo ?? '');
  const error = params.get('error');
  if (error !== null) throw new Error(`The sign-in provider refused the sign-in: ${params.get('error_description') ?? error}.`);
  const code = params.get('code');
  const state = params.get('state');
  if (pending === null || state === null || state !== pending.state || code === null)
    throw new Error('The sign-in answer does not match a sign-in started in this tab (its state differs). Sign in again.');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: config.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; id_token?: unknown; error?: unknown; error_description?: unknown };
  if (!response.ok) {
    const why = [body.error_description, body.error].find((v): v is string => typeof v === 'string') ?? `it answered ${response.status}`;
    throw new Error(`The sign-in provider refused the code: ${why}.`);
  }
  const idToken = typeof body.id_token === 'string' ? body.id_token : undefined;
  if (idToken !== undefined && jwtPayload(idToken)?.nonce !== pending.nonce)
    throw new Error("The sign-in provider's ID token does not carry this sign-in's nonce.");
  // The access token when it is a JWT (its `aud` is the API's); otherwise the ID token.
  const access = typeof body.access_token === 'string' && jwtPayload(body.access_token) !== null ? body.access_token : undefined;
  const token = access ?? idToken;
  if (token === undefined) throw new Error('The sign-in provider returned no token the API can check (neither a JWT access token nor an ID token).');
  return token;
}
