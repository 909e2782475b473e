/**
 * Internal service tokens: how a worker (or an API process forwarding a call) proves to a gateway
 * process that it is part of the deployment, without holding an API key of any tenant.
 *
 * Every process of a deployment shares one secret, `AGENTRY_INTERNAL_SECRET` (≥ 32 bytes). A
 * caller mints a short-lived HS256 JWT per gateway call — `iss` `agentry-worker` (or
 * `agentry-api`), `aud` `agentry-gateway`, `sub` its worker id, `tenant`, `run_id`, `step_id`,
 * `iat`, `exp` (5 minutes), `jti` — and sends it in its own header, `X-Agentry-Internal-Token`,
 * never in `Authorization`: the kind of credential is said by where it is sent, not guessed from
 * its shape or from an unverified JWT header, so it is never mistaken for an OIDC token or an
 * API key (and a reverse proxy at the edge can drop the header from outside requests).
 *
 * Any gateway instance holding the secret verifies a token minted by any caller (AUTH-16).
 * `AGENTRY_INTERNAL_SECRET_PREVIOUS` verifies (never signs) during a rotation; a token signed
 * with a secret that is neither is refused, so rotating the secret invalidates every outstanding
 * token (AUTH-17). Verification accepts HS256 only (`alg: none` and every other algorithm are
 * refused), requires every claim, and refuses a token meant to live longer than
 * `INTERNAL_TOKEN_MAX_TTL_S` even when its signature is good.
 */
import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { AgentryError } from '../lib/errors.js';
import { tenantIdProblem } from '../lib/tenant.js';

/** The header that carries the token (lower case, as Node hands headers over). */
export const INTERNAL_TOKEN_HEADER = 'x-agentry-internal-token';

/** Who mints tokens: a worker's agent step, or an API process forwarding a caller's request. */
export const INTERNAL_ISSUERS = { worker: 'agentry-worker', api: 'agentry-api' } as const;
export type InternalIssuer = keyof typeof INTERNAL_ISSUERS;

/** The one audience: the gateway's chat route. */
export const INTERNAL_AUDIENCE = 'agentry-gateway';

/** The JWT `typ` header of an internal token. */
export const INTERNAL_TOKEN_TYPE = 'agentry-internal+jwt';

/** The secret's least length, in bytes of UTF-8 (HS256's key is as strong as the secret). */
export const MIN_INTERNAL_SECRET_BYTES = 32;

/** How long a minted token is valid. */
export const INTERNAL_TOKEN_TTL_S = 300;

/** The longest lifetime (`exp - iat`) a verifier accepts: a token minted to live longer is refused. */
export const INTERNAL_TOKEN_MAX_TTL_S = 600;

/** Seconds of clock skew allowed between the minting and the verifying host (`iat`, `exp`). */
export const INTERNAL_CLOCK_TOLERANCE_S = 30;

/** The principal name prefix of an internal caller: `internal:<worker id>`. */
export const INTERNAL_PREFIX = 'internal:';

const ALGORITHM = 'HS256';
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'tenant'];
/** Worker, run and step ids (`wrk_…`, `run_…`, `fetch[3]`) are short and plain; anything else is no token of ours. */
const ID = /^[A-Za-z0-9_.:@[\]-]{1,128}$/;

/** What a token says about the call it authorises. */
export interface InternalCall {
  /** The tenant the call acts in (the run's). */
  tenantId: string;
  /** The run the call is recorded against; absent for a forwarded call that names none. */
  runId?: string;
  /** The run's step making the call (only with `runId`). */
  stepId?: string;
}

/** A verified token. */
export interface InternalIdentity extends InternalCall {
  /** `internal:<sub>`. */
  name: string;
  issuer: InternalIssuer;
  /** The token's id (`jti`), for the logs. */
  tokenId: string;
  expiresAt: Date;
}

/** The UTF-8 length of a secret in bytes. */
export function secretBytes(secret: string): number {
  return Buffer.byteLength(secret, 'utf8');
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Mints tokens with the current secret, as one caller (`sub`). */
export class InternalTokenSigner {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly issuer: InternalIssuer,
    /** The caller's id: a worker id (`wrk_…`). */
    readonly subject: string,
  ) {
    if (secretBytes(secret) === 0) throw new AgentryError('invalid_request', 'the internal secret is empty');
    if (!ID.test(subject)) throw new AgentryError('invalid_request', `'${subject.slice(0, 80)}' cannot be the subject of an internal token`);
    this.#key = keyOf(secret);
  }

  /** A token for one call, valid for `INTERNAL_TOKEN_TTL_S` from `now` (seconds since the epoch; default now). */
  async mint(call: InternalCall, now = Math.floor(Date.now() / 1000)): Promise<string> {
    if (call.stepId !== undefined && call.runId === undefined) throw new AgentryError('invalid_request', 'an internal token names a step only with its run');
    const claims: JWTPayload = { tenant: call.tenantId };
    if (call.runId !== undefined) claims.run_id = call.runId;
    if (call.stepId !== undefined) claims.step_id = call.stepId;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: INTERNAL_TOKEN_TYPE })
      .setIssuer(INTERNAL_ISSUERS[this.issuer])
      .setAudience(INTERNAL_AUDIENCE)
      .setSubject(this.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + INTERNAL_TOKEN_TTL_S)
      .setJti(randomUUID())
      .sign(this.#key);
  }

  /** Never shows the key. */
  toJSON(): { issuer: string; subject: string } {
    return { issuer: INTERNAL_ISSUERS[this.issuer], subject: this.subject };
  }
}

function refused(reason: string, cause?: unknown): AgentryError {
  return new AgentryError('unauthorized', `the internal service token is not valid: ${reason}`, cause === undefined ? {} : { cause });
}

/** Why jose refused a token, in words for the caller (never the token or a secret). */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not match the internal secret of this server';
  if (error instanceof errors.JOSEAlgNotAllowed) return `only ${ALGORITHM} is accepted`;
  if (error instanceof errors.JWTClaimValidationFailed) return `its ${error.claim} claim is wrong or missing`;
  if (error instanceof errors.JOSEError) return `it is malformed (${error.code})`;
  return 'it is malformed';
}

/** Verifies tokens with the current secret, or during a rotation the previous one. */
export class InternalTokenVerifier {
  readonly #keys: Uint8Array[];

  constructor(secrets: { current: string; previous?: string | undefined }) {
    this.#keys = [keyOf(secrets.current), ...(secrets.previous === undefined ? [] : [keyOf(secrets.previous)])];
  }

  /** The identity of a valid token; `unauthorized` naming why for any other. */
  async verify(token: string, now: Date = new Date()): Promise<InternalIdentity> {
    let payload: JWTPayload | undefined;
    let failure: unknown;
    for (const key of this.#keys) {
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          typ: INTERNAL_TOKEN_TYPE,
          issuer: Object.values(INTERNAL_ISSUERS),
          audience: INTERNAL_AUDIENCE,
          requiredClaims: REQUIRED_CLAIMS,
          clockTolerance: INTERNAL_CLOCK_TOLERANCE_S,
          maxTokenAge: INTERNAL_TOKEN_MAX_TTL_S,
          currentDate: now,
        }));
        break;
      } catch (error) {
        failure = error;
        // Only a signature that does not match may be the previous secret's; anything else is final.
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    if (payload === undefined) throw refused(reasonOf(failure), failure);
    return identityOf(payload);
  }

  /** Never shows the keys. */
  toJSON(): { secrets: number } {
    return { secrets: this.#keys.length };
  }
}

/** The claims of a token whose signature and registered claims are good, checked one by one. */
function identityOf(payload: JWTPayload): InternalIdentity {
  const { sub, iat, exp, jti, iss } = payload;
  if (typeof sub !== 'string' || !ID.test(sub)) throw refused('its sub claim is not a worker id');
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > INTERNAL_TOKEN_MAX_TTL_S) {
    throw refused(`it is meant to live longer than ${INTERNAL_TOKEN_MAX_TTL_S} s`);
  }
  if (typeof jti !== 'string' || jti === '' || jti.length > 128) throw refused('its jti claim is missing');
  const tenant = payload.tenant;
  if (typeof tenant !== 'string' || tenantIdProblem(tenant) !== undefined) throw refused('its tenant claim is not a tenant id');
  const runId = optionalId(payload.run_id, 'run_id');
  const stepId = optionalId(payload.step_id, 'step_id');
  if (stepId !== undefined && runId === undefined) throw refused('it names a step without its run');
  const issuer = (Object.keys(INTERNAL_ISSUERS) as InternalIssuer[]).find((k) => INTERNAL_ISSUERS[k] === iss) ?? 'worker';
  return {
    name: `${INTERNAL_PREFIX}${sub}`,
    issuer,
    tenantId: tenant,
    ...(runId === undefined ? {} : { runId }),
    ...(stepId === undefined ? {} : { stepId }),
    tokenId: jti,
    expiresAt: new Date(exp * 1000),
  };
}

function optionalId(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !ID.test(value)) throw refused(`its ${claim} claim is not an id`);
  return value;
}
