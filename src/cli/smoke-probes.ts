/**
 * The checks of `agentry smoke` that read and change nothing: the probes, authentication (a
 * wrong key refused, the key accepted; `--expect-auth` makes a server with auth off a failure),
 * the OpenAPI document and spec validation (`POST /v1/specs/validate`: a valid file is valid,
 * an invalid one has a diagnostic with its line).
 */
import { AgentryError } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';
import type { RemoteClient } from './remote.js';
import { CheckFailure, holds, jsonField, type Context, type Outcome, type State, type Whoami } from './smoke-check.js';

export async function checkLivez(client: RemoteClient): Promise<Outcome> {
  const { status } = await client.fetchText('/livez');
  if (status !== 200) throw new CheckFailure(`GET /livez answered ${status}, not 200 (is ${maskSecrets(client.url)} an Agentry server?)`);
  return { status: 'pass', detail: 'GET /livez answered 200' };
}

export async function checkReadyz(client: RemoteClient): Promise<Outcome> {
  const { status, text } = await client.fetchText('/readyz');
  if (status === 200) return { status: 'pass', detail: 'GET /readyz answered 200 ready' };
  const detail = jsonField(text, 'detail');
  throw new AgentryError(
    'not_ready',
    `GET /readyz answered ${status}${detail === undefined ? ' (the server logs, or /readyz from a trusted address, name the failing checks)' : `: ${detail}`}`,
  );
}

export async function checkWrongKey(wrongKey: RemoteClient, ctx: Context, state: State): Promise<Outcome> {
  let who: Whoami;
  try {
    who = await wrongKey.request<Whoami>('GET', '/v1/auth/whoami');
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'unauthorized') return { status: 'pass', detail: 'a wrong key was refused: 401 unauthorized' };
    throw error;
  }
  if (who.via !== null) throw new CheckFailure(`a wrong key was accepted as ${who.principal}`);
  state.authOff = true;
  const off = 'auth is OFF on this server (--no-auth / AGENTRY_AUTH=off, loopback only): every request acts as admin';
  if (ctx.expectAuth) throw new CheckFailure(`${off}; --expect-auth wants keys checked`);
  return { status: 'warn', detail: off };
}

export async function checkKey(client: RemoteClient, apiKey: string | undefined, state: State): Promise<Outcome> {
  if (apiKey === undefined) {
    if (state.authOff) return { status: 'skip', detail: 'no key given, none needed: auth is off' };
    throw new AgentryError('unauthorized', 'no key given: pass --key or set AGENTRY_API_KEY');
  }
  const who = await client.request<Whoami>('GET', '/v1/auth/whoami');
  state.who = who;
  if (who.via === null) return { status: 'pass', detail: `auth is off: acting as ${who.principal} in tenant ${who.tenant_id}` };
  return { status: 'pass', detail: `the key signs in as ${who.principal} (tenant ${who.tenant_id}; ${who.roles.join(', ') || 'no roles'})` };
}

export async function checkOpenapi(client: RemoteClient): Promise<Outcome> {
  const { status, text } = await client.fetchText('/openapi.json');
  if (status !== 200) throw new CheckFailure(`GET /openapi.json answered ${status}, not 200`);
  let doc: { openapi?: unknown; paths?: unknown; info?: { version?: unknown } };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new CheckFailure('GET /openapi.json did not answer JSON');
  }
  if (typeof doc.openapi !== 'string' || !/^3\./.test(doc.openapi)) throw new CheckFailure('GET /openapi.json has no `openapi: 3.x` field');
  if (typeof doc.paths !== 'object' || doc.paths === null) throw new CheckFailure('GET /openapi.json has no `paths`');
  if (!('/v1/workflows/{name}/runs' in doc.paths)) throw new CheckFailure('GET /openapi.json does not describe /v1/workflows/{name}/runs');
  const version = typeof doc.info?.version === 'string' ? `, server version ${doc.info.version}` : '';
  return { status: 'pass', detail: `OpenAPI ${doc.openapi} with ${Object.keys(doc.paths).length} paths${version}` };
}

interface Validation {
  valid: boolean;
  workflows: string[];
  diagnostics: Array<{ file: string; line: number; path: string; message: string; severity: 'error' | 'warning' }>;
}

const VALID_FILE = 'workflows/agentry-smoke-valid.yaml';
const VALID_SPEC = 'name: smoke-spec-valid\nsteps:\n  a: { transform: { n: 1 } }\n  b: { needs: [a], transform: { m: "{{ steps.a.output.n }}" } }\n';
const INVALID_FILE = 'workflows/agentry-smoke-invalid.yaml';
/** Step `b` needs a step that does not exist (line 4). */
const INVALID_SPEC = 'name: smoke-spec-invalid\nsteps:\n  a: { transform: { n: 1 } }\n  b: { needs: [missing], transform: { m: 2 } }\n';
const INVALID_LINES = INVALID_SPEC.split('\n').length - 1;

export async function checkSpecs(client: RemoteClient, state: State): Promise<Outcome> {
  if (!holds(state, 'specs:read')) return { status: 'skip', detail: 'the key lacks specs:read (viewer, service, operator and admin keys hold it)' };
  const validate = (file: string, text: string) => client.request<Validation>('POST', '/v1/specs/validate', { files: { [file]: text } });
  const good = await validate(VALID_FILE, VALID_SPEC);
  const errors = good.diagnostics.filter((d) => d.severity === 'error');
  if (!good.valid || errors.length > 0 || !good.workflows.includes('smoke-spec-valid')) {
    const first = errors[0];
    throw new CheckFailure(`a valid workflow was not found valid${first === undefined ? '' : `: ${first.file}:${first.line} ${first.message}`}`);
  }
  const bad = await validate(INVALID_FILE, INVALID_SPEC);
  const found = bad.diagnostics.find((d) => d.severity === 'error' && d.file === INVALID_FILE);
  if (bad.valid || found === undefined) throw new CheckFailure('a workflow needing a step that does not exist was found valid');
  if (!Number.isInteger(found.line) || found.line < 1 || found.line > INVALID_LINES) {
    throw new CheckFailure(`the diagnostic of an invalid workflow has no line in its file: line ${found.line}: ${found.message}`);
  }
  return { status: 'pass', detail: `a valid workflow is valid; an invalid one answers ${found.file}:${found.line}: ${found.message}` };
}
