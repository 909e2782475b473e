/**
 * Internal service tokens on the server side (docs/security.md#internal-service-tokens): the
 * `X-Agentry-Internal-Token` header is checked here, before any API key or OIDC token is looked
 * at, so it can never be taken for one. Only routes that declare `internalTokens` (the gateway's
 * `POST /v1/chat/completions`, `POST /v1/messages` and `GET /v1/models`) accept it; on every other authenticated
 * route its mere presence is 401, even beside a valid API key: a worker's credential reaches
 * nothing but the gateway. `auth.ts` turns the identity into a principal.
 */
import { AgentryError } from '../lib/errors.js';
import { INTERNAL_TOKEN_HEADER, InternalTokenVerifier, type InternalIdentity } from '../gateway/internal-token.js';

/** What the server verifies internal tokens with, from `AGENTRY_INTERNAL_SECRET` (and `_PREVIOUS` during a rotation). */
export function internalVerifier(secret: string | undefined, previous: string | undefined): InternalTokenVerifier | undefined {
  if (secret === undefined || secret === '') return undefined;
  return new InternalTokenVerifier({ current: secret, ...(previous === undefined || previous === '' ? {} : { previous }) });
}

/** The token of the request's `X-Agentry-Internal-Token` header; undefined without one. */
export function presentedInternalToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers[INTERNAL_TOKEN_HEADER];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new AgentryError('unauthorized', `send one ${INTERNAL_TOKEN_HEADER} header, not several`);
  return value.trim();
}

/**
 * The identity of an internal token presented on a route. Throws `unauthorized` when the route
 * takes no internal tokens, when an API key or bearer token is sent beside it (one request, one
 * credential), when this server holds no internal secret, or when the token is not valid.
 */
export async function internalIdentity(
  verifier: InternalTokenVerifier | undefined,
  token: string,
  route: { accepts: boolean; alsoPresented: boolean },
): Promise<InternalIdentity> {
  if (!route.accepts) {
    throw new AgentryError(
      'unauthorized',
      `internal service tokens (${INTERNAL_TOKEN_HEADER}) are accepted only by the gateway's POST /v1/chat/completions, POST /v1/messages and GET /v1/models`,
    );
  }
  if (route.alsoPresented) {
    throw new AgentryError('unauthorized', `send one credential: an API key or token, or an internal service token (${INTERNAL_TOKEN_HEADER}), not both`);
  }
  if (verifier === undefined) {
    throw new AgentryError(
      'unauthorized',
      'this server accepts no internal service tokens: set AGENTRY_INTERNAL_SECRET (the same value on every process of the deployment)',
    );
  }
  if (token === '') throw new AgentryError('unauthorized', `the ${INTERNAL_TOKEN_HEADER} header is empty`);
  return verifier.verify(token);
}
