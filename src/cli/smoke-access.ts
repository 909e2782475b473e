/**
 * The checks of `agentry smoke` about who may do what: a read-only key reads a run but is
 * refused a write (`viewer-write`), the audit log lists what the check itself did (`audit`), and
 * the credential inventory answers without a single secret value in it (`credentials`).
 */
import { AgentryError } from '../lib/errors.js';
import { SMOKE_WORKFLOW } from '../spec/builtin.js';
import type { AuditPageDto } from '../app/dto/audit.js';
import type { CredentialListDto } from '../app/dto/credentials.js';
import { plural } from './format.js';
import { CheckFailure, holds, withKey, type Context, type Outcome, type State, type Whoami } from './smoke-check.js';
import { smokeInput } from './smoke-runs.js';

export async function checkViewerWrite(ctx: Context, state: State): Promise<Outcome> {
  const { client: viewer, option } = ctx.viewer;
  if (viewer === undefined) return { status: 'skip', detail: 'no --viewer-key given (or AGENTRY_SMOKE_VIEWER_KEY)' };
  if (state.authOff) return { status: 'skip', detail: 'auth is off: every key acts as admin' };
  const asViewer = <T>(call: Promise<T>): Promise<T> =>
    call.catch((error: unknown) => {
      throw withKey(option, error);
    });
  const who = await asViewer(viewer.request<Whoami>('GET', '/v1/auth/whoami'));
  const named = `the ${option} (${who.principal}; ${who.roles.join(', ') || 'no roles'})`;
  const target = state.succeeded?.id ?? state.cancelled ?? state.runs[0]?.id;
  const read = target === undefined ? 'lists runs' : `reads run ${target}`;
  if (target === undefined) await asViewer(viewer.listRuns({ limit: 1 }));
  else await asViewer(viewer.getRun(target));
  let started: string;
  try {
    started = (await viewer.startRun(SMOKE_WORKFLOW, smokeInput().input)).run.id;
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'forbidden')
      return { status: 'pass', detail: `${named} ${read}; starting a run answers 403 forbidden` };
    throw withKey(option, error);
  }
  state.runs.push({ id: started, workflow: SMOKE_WORKFLOW });
  await viewer.cancelRun(started, 'agentry smoke: started by the viewer key, which should not write').then(
    () => state.ended.add(started),
    () => undefined,
  );
  throw new CheckFailure(`${named} started run ${started} (cancelled since): a read-only key must be refused with 403 forbidden`);
}

/** The audit entries the checks' runs must have left: an action on a run, by a principal when known. */
function expectedEntries(state: State): Array<{ run: string; action: string; principal: string | undefined }> {
  const main = state.who?.principal;
  const entries: Array<{ run: string; action: string; principal: string | undefined }> = [];
  if (state.succeeded !== undefined) {
    entries.push({ run: state.succeeded.id, action: 'run.start', principal: main }, { run: state.succeeded.id, action: 'run.signal', principal: main });
  }
  if (state.cancelled !== undefined) entries.push({ run: state.cancelled, action: 'run.cancel', principal: main });
  if (state.reviewed !== undefined) entries.push({ run: state.reviewed.id, action: 'task.decide', principal: state.reviewed.by });
  return entries;
}

export async function checkAudit({ client }: Context, state: State): Promise<Outcome> {
  if (!holds(state, 'audit:read')) return { status: 'skip', detail: 'the key lacks audit:read (admin keys hold it)' };
  const expected = expectedEntries(state);
  if (expected.length === 0) {
    const page = await client.request<AuditPageDto>('GET', '/v1/audit?limit=10');
    return { status: 'pass', detail: `GET /v1/audit answered ${page.items.length} entries; no run of this check to look for` };
  }
  const found: string[] = [];
  for (const { run, action, principal } of expected) {
    const page = await client.request<AuditPageDto>('GET', `/v1/audit?run_id=${encodeURIComponent(run)}&action=${encodeURIComponent(action)}&limit=10`);
    const entry = page.items.find((item) => item.outcome === 'success' && (principal === undefined || item.principal === principal));
    if (entry === undefined) {
      const by = principal === undefined ? '' : ` by ${principal}`;
      throw new CheckFailure(`GET /v1/audit lists no successful ${action} of run ${run}${by} (entries found: ${page.items.length})`);
    }
    found.push(`${action} by ${entry.principal}`);
  }
  return { status: 'pass', detail: `the audit log lists this check's actions: ${found.join(', ')}` };
}

const CREDENTIAL_FIELDS = new Set(['name', 'resolved', 'source', 'used_by']);

export async function checkCredentials(ctx: Context, state: State): Promise<Outcome> {
  if (!holds(state, 'credentials:read')) return { status: 'skip', detail: 'the key lacks credentials:read (operator and admin keys hold it)' };
  let list: CredentialListDto;
  try {
    list = await ctx.client.request<CredentialListDto>('GET', '/v1/security/credentials');
  } catch (error) {
    // The inventory is the deployment's: a key bound to another tenant is refused it.
    if (error instanceof AgentryError && error.code === 'forbidden') return { status: 'skip', detail: `refused to this key: ${error.message}` };
    throw error;
  }
  const text = JSON.stringify(list);
  for (const item of list.items) {
    const extra = Object.keys(item).filter((field) => !CREDENTIAL_FIELDS.has(field));
    if (extra.length > 0)
      throw new CheckFailure(`the credential inventory's entry ${item.name} has fields beyond name, resolved, source, used_by: ${extra.join(', ')}`);
  }
  const leaked = ctx.secrets.filter((secret) => secret.length >= 6 && text.includes(secret)).length;
  if (leaked > 0)
    throw new CheckFailure(`the credential inventory holds the value of ${plural(leaked, 'secret')} this check knows (its keys, the env file's secrets)`);
  const unresolved = list.items.filter((item) => !item.resolved);
  const summary = `${plural(list.items.length, 'credential')} listed by name, no value among them`;
  if (unresolved.length === 0) return { status: 'pass', detail: `${summary}; every one resolves` };
  const names = unresolved.map((item) => `${item.name}${item.used_by.length > 0 ? ` (used by ${item.used_by.join(', ')})` : ''}`);
  return { status: 'warn', detail: `${summary}; ${unresolved.length} do not resolve: ${names.join('; ')}` };
}
