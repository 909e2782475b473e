/**
 * Sign-in for people: `Authorization: Bearer <JWT>` from one configured OIDC issuer.
 *
 * A token is checked against the issuer's JWKS (`jose`'s `createRemoteJWKSet`: fetched from the
 * one configured URL, cached, fetched again on a key id it does not know, so rotation needs no
 * restart), with `iss`, `aud`, `exp` and `nbf` enforced and a 30 s clock tolerance. Only
 * asymmetric algorithms are accepted, so `alg: none` and an HMAC signed with the public key are
 * refused by construction; `jku`/`x5u`/`jwk` headers are never followed (jose does not).
 *
 * This module turns a verified token into an identity (name, tenant, grants); `auth.ts` turns the
 * grants into scopes exactly as for API keys. It imports nothing from `auth.ts` (no cycle).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AgentryError } from '../lib/errors.js';
import { isLoopback } from '../lib/address-list.js';
import { tenantIdProblem } from '../lib/tenant.js';

/** Asymmetric JWS algorithms only: a key set can never verify `none` or an HMAC. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Seconds of clock skew allowed on `exp` and `nbf`. */
export const OIDC_CLOCK_TOLERANCE_S = 30;

/** The prefix of an OIDC principal's name, so it never collides with an API key's name. */
export const OIDC_PREFIX = 'oidc:';

/** The `AGENTRY_OIDC_*` options as configured (raw strings). */
export interface OidcOptions {
  issuer: string;
  audience: string | undefined;
  jwksUrl: string | undefined;
  tenantClaim: string | undefined;
  rolesClaim: string | undefined;
  roleMap: string | undefined;
  nameClaim: string | undefined;
  /** The web console's client id (`AGENTRY_OIDC_CONSOLE_CLIENT_ID`); undefined: the audience. */
  consoleClientId?: string | undefined;
  /** The scopes the web console asks for (`AGENTRY_OIDC_CONSOLE_SCOPES`, space-separated). */
  consoleScopes?: string | undefined;
  /** Least time between two JWKS fetches for an unknown key id (default 30 s; tests lower it). */
  cooldownMs?: number;
}

/** The checked settings of a verifier. */
export interface OidcSettings {
  issuer: string;
  audience: string;
  /** The JWKS URL; undefined: the issuer's discovery document's `jwks_uri`. */
  jwksUrl: URL | undefined;
  tenantClaim: string | undefined;
  rolesClaim: string;
  /** Claim value → grants (roles, scopes, `role:<name>`), as `AGENTRY_OIDC_ROLE_MAP` lists them. */
  roleMap: ReadonlyMap<string, readonly string[]>;
  nameClaim: string;
  /** What the web console signs in with (public values, served at `/ui/config.json`). */
  console: ConsoleOidc;
  /** Least time between two JWKS fetches for an unknown key id (jose's `cooldownDuration`; tests lower it). */
  cooldownMs?: number;
}

/** The web console's sign-in settings: all public (no secret; the console is a public client using PKCE). */
export interface ConsoleOidc {
  issuer: string;
  clientId: string;
  audience: string;
  /** Space-separated, `openid` first. */
  scopes: string;
}

/** `openid` plus the configured scopes, each once. */
export function consoleScopes(text: string | undefined): string {
  const scopes = ['openid', ...(text ?? 'openid profile email').split(/\s+/).filter((s) => s !== '')];
  return [...new Set(scopes)].join(' ');
}

/** Who a verified token is: the grants still to be turned into scopes. */
export interface OidcIdentity {
  /** `oidc:<sub>` (or `oidc:<name claim>`). */
  name: string;
  /** The tenant claim's value; undefined without `AGENTRY_OIDC_TENANT_CLAIM` (the deployment's tenant). */
  tenantId: string | undefined;
  /** The mapped grants (deduplicated, in map order); empty when no claim value is mapped. */
  grants: string[];
  /** The token's `exp`. */
  expiresAt: Date;
}

/** An `https:` URL, or `http:` on a loopback host only (a development issuer). */
function trustedUrl(text: string, what: string, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${what} is not a URL`);
    return undefined;
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return url;
  problems.push(`${what} must be https:// (http:// only on a loopback host)`);
  return undefined;
}

/** `AGENTRY_OIDC_ROLE_MAP`: `value=grant,value=grant` (a value may repeat to give several grants). */
export function parseRoleMap(text: string | undefined, problems: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const eq = entry.lastIndexOf('=');
    const value = eq < 0 ? '' : entry.slice(0, eq).trim();
    const grant = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (value === '' || grant === '') {
      problems.push(`AGENTRY_OIDC_ROLE_MAP: '${entry}' is not claim-value=role`);
      continue;
    }
    const grants = map.get(value) ?? [];
    if (!grants.includes(grant)) grants.push(grant);
    map.set(value, grants);
  }
  return map;
}

/** Checks the options; every problem is reported at once. Grants are checked by the caller (`auth.ts`). */
export function oidcSettings(options: OidcOptions, problems: string[]): OidcSettings | undefined {
  const before = problems.length;
  const issuer = options.issuer.trim();
  trustedUrl(issuer, 'AGENTRY_OIDC_ISSUER', problems);
  const audience = options.audience?.trim() ?? '';
  if (audience === '') problems.push('AGENTRY_OIDC_AUDIENCE is required with AGENTRY_OIDC_ISSUER (the client id tokens are issued for)');
  const jwksUrl =
    options.jwksUrl === undefined || options.jwksUrl.trim() === '' ? undefined : trustedUrl(options.jwksUrl.trim(), 'AGENTRY_OIDC_JWKS_URL', problems);
  const roleMap = parseRoleMap(options.roleMap, problems);
  if (roleMap.size === 0) problems.push('AGENTRY_OIDC_ROLE_MAP is required with AGENTRY_OIDC_ISSUER (e.g. agentry-admins=admin,agentry-ops=operator)');
  const clientId = options.consoleClientId?.trim() || audience;
  if (/[\s"'<>\\]/.test(clientId)) problems.push('AGENTRY_OIDC_CONSOLE_CLIENT_ID must not contain spaces, quotes or angle brackets');
  const scopes = consoleScopes(options.consoleScopes);
  if (!/^[\x21\x23-\x5B\x5D-\x7E ]+$/.test(scopes)) problems.push('AGENTRY_OIDC_CONSOLE_SCOPES: a scope may not contain quotes or backslashes');
  if (problems.length > before) return undefined;
  return {
    issuer,
    audience,
    jwksUrl,
    tenantClaim: options.tenantClaim?.trim() || undefined,
    rolesClaim: options.rolesClaim?.trim() || 'groups',
    roleMap,
    nameClaim: options.nameClaim?.trim() || 'sub',
    console: { issuer, clientId, audience, scopes },
    ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
  };
}

/** True for a compact JWS: three base64url segments (the last may be empty, as with `alg: none`). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** A claim by name, or by a dotted path (`realm_access.roles`) when no claim has that exact name. */
function claim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * True when the key set could not be fetched (network error, timeout, not 200, not a key set),
 * as opposed to a token that is not valid. jose raises its base `JOSEError` only for the fetch.
 */
function keySetUnreachable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code;
}

function unauthorized(message: string, cause?: unknown): AgentryError {
  return new AgentryError('unauthorized', message, cause === undefined ? {} : { cause });
}

/** Verifies tokens of one issuer; one per server (it holds the JWKS cache). */
export class OidcVerifier {
  readonly settings: OidcSettings;
  #jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(settings: OidcSettings) {
    this.settings = settings;
  }

  /** The key set: from the configured URL, or the discovery document's `jwks_uri` (looked up once; again after a failure). */
  #keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.#jwks ??= this.#jwksUrl().then((url) => createRemoteJWKSet(url, { cooldownDuration: this.settings.cooldownMs ?? 30_000, timeoutDuration: 5_000 }));
    this.#jwks.catch(() => {
      this.#jwks = undefined;
    });
    return this.#jwks;
  }

  async #jwksUrl(): Promise<URL> {
    if (this.settings.jwksUrl) return this.settings.jwksUrl;
    const where = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(where, { redirect: 'error', signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${where} answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== this.settings.issuer) throw new Error(`${where} names issuer ${JSON.stringify(doc.issuer)}, not the configured one`);
    const problems: string[] = [];
    const url = typeof doc.jwks_uri === 'string' ? trustedUrl(doc.jwks_uri, 'jwks_uri', problems) : undefined;
    if (!url) throw new Error(`${where} has no usable jwks_uri${problems.length > 0 ? ` (${problems.join('; ')})` : ''}`);
    return url;
  }

  /** The identity of a valid token; `unauthorized` for any token that is not. */
  async verify(token: string): Promise<OidcIdentity> {
    const s = this.settings;
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.#keySet();
    } catch (error) {
      throw new AgentryError('auth_unavailable', 'the sign-in provider could not be reached to check the token', { retryable: true, cause: error });
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: s.issuer,
        audience: s.audience,
        algorithms: [...OIDC_ALGORITHMS],
        clockTolerance: OIDC_CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (keySetUnreachable(error)) {
        throw new AgentryError('auth_unavailable', 'the sign-in provider could not be reached to check the token', { retryable: true, cause: error });
      }
      throw unauthorized(`the token is not valid (${(error as errors.JOSEError).code})`, error);
    }
    const subject = claim(payload, s.nameClaim);
    if (typeof subject !== 'string' || subject === '') throw unauthorized(`the token has no ${s.nameClaim} claim`);
    if (s.nameClaim === 'email' && payload.email_verified === false) throw unauthorized('the token names an email that is not verified');
    let tenantId: string | undefined;
    if (s.tenantClaim !== undefined) {
      const tenant = claim(payload, s.tenantClaim);
      if (typeof tenant !== 'string' || tenantIdProblem(tenant) !== undefined)
        throw unauthorized(`the token has no usable ${s.tenantClaim} claim (the tenant)`);
      tenantId = tenant;
    }
    const raw = claim(payload, s.rolesClaim);
    const values = typeof raw === 'string' ? raw.split(/\s+/) : Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
    const grants: string[] = [];
    for (const value of values) for (const grant of s.roleMap.get(value) ?? []) if (!grants.includes(grant)) grants.push(grant);
    return { name: `${OIDC_PREFIX}${subject}`, tenantId, grants, expiresAt: new Date((payload.exp ?? 0) * 1000) };
  }
}
