/**
 * The checks of `agentry smoke`, made against a running deployment through its HTTP API alone:
 * probes, authentication, the OpenAPI document, a run of the built-in `agentry-smoke` workflow
 * (a transform, a durable sleep, a signal) to success, a second one cancelled, and the
 * `/metrics` counters those runs moved. Each check ends `pass`, `warn` (works, but worth a
 * look), `skip` (could not apply) or `fail` with the reason; the report lists them in order.
 *
 *   const report = await runSmoke({ connect: (o) => new RemoteClient({ url, ...o }), apiKey, timeoutMs: 60_000 });
 *   process.exitCode = smokeExitCode(report);
 */
import { randomBytes, randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { AgentryError, ERROR_CODES, isErrorCode } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';
import { pause } from '../lib/sleep.js';
import { SMOKE_SIGNAL, SMOKE_WORKFLOW } from '../spec/builtin.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';
import { hasFamily, parseSamples, sampleSum, seriesText, type Sample } from './prometheus-text.js';
import type { RemoteClient, RunDetailDto, RunDto } from './remote.js';

export const CHECK_NAMES = ['livez', 'readyz', 'auth-refuses', 'auth-accepts', 'openapi', 'run', 'cancel', 'metrics'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export type CheckStatus = 'pass' | 'warn' | 'skip' | 'fail';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** What was found, or why the check failed. */
  detail: string;
  duration_ms: number;
  /** The error code of a check that failed with one (`forbidden`, `not_ready`, …). */
  code?: string;
}

export interface SmokeReport {
  url: string;
  ok: boolean;
  duration_ms: number;
  checks: CheckResult[];
  summary: Record<CheckStatus, number>;
}

export interface SmokeOptions {
  /** A client of the server sending `apiKey` (none when undefined), each of its requests aborted by `signal`. */
  connect: (options: { apiKey?: string; signal: AbortSignal }) => RemoteClient;
  apiKey: string | undefined;
  /** For the whole check: past it, the check running fails and the rest are skipped. */
  timeoutMs: number;
  /** Told of each result as it is known (for printing as the checks go). */
  onResult?: (result: CheckResult) => void;
}

/** The clients and deadline of one smoke check. */
interface Context {
  client: RemoteClient;
  deadline: AbortSignal;
  timeoutMs: number;
}

/** A check's outcome when it did not fail. */
interface Outcome {
  status: Exclude<CheckStatus, 'fail'>;
  detail: string;
}

/** A check that found something wrong (not an error of the request itself). */
class CheckFailure extends Error {}

/** What the checks learn and share. */
interface State {
  authOff: boolean;
  /** The key's scopes (from `whoami`), once known. */
  scopes: Set<string> | undefined;
  /** `/metrics` before the runs, or why it could not be read. */
  metricsBefore: Sample[] | Error | undefined;
  /** Runs started by the checks; `ended` those known to have ended. */
  runs: string[];
  ended: Set<string>;
  cancelled: boolean;
}

interface Whoami {
  principal: string;
  via: string | null;
  tenant_id: string;
  roles: string[];
  scopes: string[];
}

const POLL_MS = 200;
const CLEANUP_MS = 5_000;
const RUNS_STARTED = 'agentry_runs_started_total';
const RUNS_FINISHED = 'agentry_runs_finished_total';

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const startedAt = Date.now();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const client = options.connect({ ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }), signal: deadline });
  const ctx: Context = { client, deadline, timeoutMs: options.timeoutMs };
  const state: State = { authOff: false, scopes: undefined, metricsBefore: undefined, runs: [], ended: new Set(), cancelled: false };
  const wrongKey = options.connect({ apiKey: `agentry-smoke-wrong-key-${randomBytes(12).toString('hex')}`, signal: deadline });
  const checks: Record<CheckName, () => Promise<Outcome>> = {
    livez: () => checkLivez(client),
    readyz: () => checkReadyz(client),
    'auth-refuses': () => checkWrongKey(wrongKey, state),
    'auth-accepts': () => checkKey(client, options.apiKey, state),
    openapi: () => checkOpenapi(client),
    run: async () => {
      state.metricsBefore = await readMetrics(client, state).catch((error: unknown) => error as Error);
      return checkRun(ctx, state);
    },
    cancel: () => checkCancel(client, state),
    metrics: () => checkMetrics(client, state),
  };
  const results: CheckResult[] = [];
  try {
    for (const name of CHECK_NAMES) {
      const result = await runCheck(name, checks[name], ctx);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    // After the deadline too: its own, short one.
    const signal = AbortSignal.timeout(CLEANUP_MS);
    await cleanup(options.connect({ ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }), signal }), state);
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, skip: 0, fail: 0 };
  for (const result of results) summary[result.status] += 1;
  return { url: client.url, ok: summary.fail === 0, duration_ms: Date.now() - startedAt, checks: results, summary };
}

/** 0 when no check failed; else the exit code of the first failure's error code (1 without one). */
export function smokeExitCode(report: SmokeReport): number {
  const failed = report.checks.find((check) => check.status === 'fail');
  if (failed === undefined) return 0;
  return isErrorCode(failed.code) ? ERROR_CODES[failed.code].exit : 1;
}

async function runCheck(name: CheckName, check: () => Promise<Outcome>, options: Context): Promise<CheckResult> {
  const started = Date.now();
  const elapsed = (): number => Date.now() - started;
  if (options.deadline.aborted) return { name, status: 'skip', detail: `not run: the --timeout of ${seconds(options.timeoutMs)} passed`, duration_ms: 0 };
  try {
    const outcome = await check();
    return { name, ...outcome, duration_ms: elapsed() };
  } catch (error) {
    if (options.deadline.aborted) {
      const context = error instanceof CheckFailure ? `: ${error.message}` : '';
      return { name, status: 'fail', detail: `timed out: the --timeout of ${seconds(options.timeoutMs)} passed${context}`, duration_ms: elapsed() };
    }
    if (error instanceof AgentryError) return { name, status: 'fail', detail: errorText(error), code: error.code, duration_ms: elapsed() };
    return { name, status: 'fail', detail: error instanceof Error ? error.message : String(error), duration_ms: elapsed() };
  }
}

/** `403 forbidden: missing required scope: runs:write` for a server's answer; `not_ready: cannot reach …` for the client's own. */
function errorText(error: AgentryError): string {
  // The client's errors from a server's problem document carry it as details; its own carry none.
  if (error.details !== undefined) return `${error.status} ${error.code}: ${error.message}`;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(error.message) ? ' (trust its CA with --ca <file> or NODE_EXTRA_CA_CERTS)' : '';
  return `${error.code}: ${error.message}${tls}`;
}

/** `60s`, `1500ms`: a duration as the --timeout it came from. */
export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

async function checkLivez(client: RemoteClient): Promise<Outcome> {
  const { status } = await client.fetchText('/livez');
  if (status !== 200) throw new CheckFailure(`GET /livez answered ${status}, not 200 (is ${maskSecrets(client.url)} an Agentry server?)`);
  return { status: 'pass', detail: 'GET /livez answered 200' };
}

async function checkReadyz(client: RemoteClient): Promise<Outcome> {
  const { status, text } = await client.fetchText('/readyz');
  if (status === 200) return { status: 'pass', detail: 'GET /readyz answered 200 ready' };
  const detail = jsonField(text, 'detail');
  throw new AgentryError(
    'not_ready',
    `GET /readyz answered ${status}${detail === undefined ? ' (the server logs, or /readyz from a trusted address, name the failing checks)' : `: ${detail}`}`,
  );
}

async function checkWrongKey(client: RemoteClient, state: State): Promise<Outcome> {
  let who: Whoami;
  try {
    who = await client.request<Whoami>('GET', '/v1/auth/whoami');
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'unauthorized') return { status: 'pass', detail: 'a wrong key was refused: 401 unauthorized' };
    throw error;
  }
  if (who.via !== null) throw new CheckFailure(`a wrong key was accepted as ${who.principal}`);
  state.authOff = true;
  return { status: 'warn', detail: 'auth is OFF on this server (--no-auth / AGENTRY_AUTH=off, loopback only): every request acts as admin' };
}

async function checkKey(client: RemoteClient, apiKey: string | undefined, state: State): Promise<Outcome> {
  if (apiKey === undefined) {
    if (state.authOff) return { status: 'skip', detail: 'no key given, none needed: auth is off' };
    throw new AgentryError('unauthorized', 'no key given: pass --key or set AGENTRY_API_KEY');
  }
  const who = await client.request<Whoami>('GET', '/v1/auth/whoami');
  state.scopes = new Set(who.scopes);
  if (who.via === null) return { status: 'pass', detail: `auth is off: acting as ${who.principal} in tenant ${who.tenant_id}` };
  return { status: 'pass', detail: `the key signs in as ${who.principal} (tenant ${who.tenant_id}; ${who.roles.join(', ') || 'no roles'})` };
}

async function checkOpenapi(client: RemoteClient): Promise<Outcome> {
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

/** A fresh input for a smoke run, and the `compute` output it must give. */
function smokeInput(): { input: { nonce: string; a: number; b: number }; expected: { nonce: string; sum: number; text: string } } {
  const nonce = randomBytes(8).toString('hex');
  const a = randomInt(1, 100_000);
  const b = randomInt(1, 100_000);
  return { input: { nonce, a, b }, expected: { nonce, sum: a + b, text: `smoke ${nonce}` } };
}

async function startSmokeRun(client: RemoteClient, state: State, input: unknown): Promise<string> {
  try {
    const { run } = await client.startRun(SMOKE_WORKFLOW, input);
    state.runs.push(run.id);
    return run.id;
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'not_found') {
      throw new AgentryError('not_found', `the server has no ${SMOKE_WORKFLOW} workflow (is it older than this agentry CLI?): ${error.message}`, {
        cause: error,
        details: error.details,
      });
    }
    // A system admin's key in multi-tenant mode acts in the tenant it names.
    if (error instanceof AgentryError && error.code === 'invalid_request' && /name the tenant/.test(error.message)) {
      throw new AgentryError('invalid_request', `${error.message}; with agentry smoke: --tenant <id>`, { cause: error, details: error.details });
    }
    throw error;
  }
}

async function checkRun({ client, deadline }: Context, state: State): Promise<Outcome> {
  const { input, expected } = smokeInput();
  const id = await startSmokeRun(client, state, input);
  let seen: RunDetailDto | undefined;
  try {
    // The signal is sent once the step waits for it: by then the sleep's durable timer has fired.
    for (;;) {
      seen = await client.getRun(id);
      if (TERMINAL_RUN_STATUSES.has(seen.status)) throw new CheckFailure(`run ${id} ended ${seen.status} before it waited for its signal${errorOf(seen)}`);
      if (seen.steps.find((step) => step.id === SMOKE_SIGNAL)?.status === 'waiting') break;
      await pause(POLL_MS, deadline);
      deadline.throwIfAborted();
    }
  } catch (error) {
    if (seen !== undefined && deadline.aborted) throw new CheckFailure(`run ${id} was still ${runState(seen)}`, { cause: error });
    throw error;
  }
  const payload = { nonce: input.nonce };
  await client.request('POST', `/v1/runs/${encodeURIComponent(id)}/signals/${SMOKE_SIGNAL}`, payload);
  const ended = await client.waitForRun(id, 24 * 3_600_000);
  state.ended.add(id);
  if (ended.status !== 'succeeded') throw new CheckFailure(`run ${id} ended ${ended.status}${errorOf(ended)}`);
  const output = ended.output as { compute?: unknown; signal?: unknown } | null;
  if (!isDeepStrictEqual(output?.compute, expected)) {
    throw new CheckFailure(`run ${id}: the transform step's output is ${JSON.stringify(output?.compute)}, not ${JSON.stringify(expected)}`);
  }
  if (!isDeepStrictEqual(output?.signal, payload)) {
    throw new CheckFailure(`run ${id}: the wait step's output is ${JSON.stringify(output?.signal)}, not the signal's payload ${JSON.stringify(payload)}`);
  }
  return { status: 'pass', detail: `${id} succeeded: transform, durable 1 s sleep, signal '${SMOKE_SIGNAL}'; outputs as expected` };
}

async function checkCancel(client: RemoteClient, state: State): Promise<Outcome> {
  const id = await startSmokeRun(client, state, smokeInput().input);
  const cancelled = await client.cancelRun(id, 'agentry smoke: the cancel check');
  if (cancelled.status !== 'cancelled') throw new CheckFailure(`run ${id} is ${cancelled.status} after POST /v1/runs/${id}/cancel, not cancelled`);
  state.ended.add(id);
  state.cancelled = true;
  const run = await client.getRun(id);
  const active = run.steps.filter((step) => !['succeeded', 'skipped', 'cancelled', 'failed', 'expired'].includes(step.status));
  if (run.status !== 'cancelled' || active.length > 0) throw new CheckFailure(`run ${id} was cancelled but is ${runState(run)}`);
  return { status: 'pass', detail: `${id} cancelled; its steps: ${run.steps.map((step) => `${step.id} ${step.status}`).join(', ')}` };
}

async function readMetrics(client: RemoteClient, state: State): Promise<Sample[] | undefined> {
  if (state.scopes !== undefined && !state.scopes.has('metrics:read')) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await client.stream('/metrics', 'text/plain')) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  if (!hasFamily(text, RUNS_STARTED)) throw new CheckFailure(`GET /metrics has no ${RUNS_STARTED} family (is this an Agentry API process?)`);
  return parseSamples(text);
}

async function checkMetrics(client: RemoteClient, state: State): Promise<Outcome> {
  if (state.scopes !== undefined && !state.scopes.has('metrics:read')) {
    return { status: 'skip', detail: 'the key lacks metrics:read (viewer, operator and admin keys hold it)' };
  }
  if (state.runs.length === 0) return { status: 'skip', detail: 'no smoke run was started, so no counter had to move' };
  if (state.metricsBefore instanceof Error) throw state.metricsBefore;
  const before = state.metricsBefore ?? [];
  const after = (await readMetrics(client, state)) ?? [];
  const moved = (name: string, labels: Record<string, string>, atLeast: number): string => {
    const delta = sampleSum(after, name, labels) - sampleSum(before, name, labels);
    const series = seriesText(name, labels);
    if (delta < atLeast) {
      throw new CheckFailure(
        `${series} moved by ${delta}, not at least ${atLeast} (counters are per process: with several API processes behind a load balancer, point --url at one of them)`,
      );
    }
    return `${series} +${delta}`;
  };
  const lines = [moved(RUNS_STARTED, { workflow: SMOKE_WORKFLOW }, state.runs.length)];
  // The API process commits a cancel itself; a run's success may be committed by a worker process.
  if (state.cancelled) lines.push(moved(RUNS_FINISHED, { workflow: SMOKE_WORKFLOW, status: 'cancelled' }, 1));
  return { status: 'pass', detail: lines.join(', ') };
}

/** Cancels the runs a failed check left unfinished (best effort: a run that ended meanwhile answers 409). */
async function cleanup(client: RemoteClient, state: State): Promise<void> {
  const left = state.runs.filter((id) => !state.ended.has(id));
  await Promise.allSettled(left.map((id) => client.cancelRun(id, 'agentry smoke: left unfinished by a failed check')));
}

function runState(run: RunDetailDto): string {
  return `${run.status} (${run.steps.map((step) => `${step.id} ${step.status}`).join(', ')})${run.status === 'queued' ? ': is a worker process running?' : ''}`;
}

function errorOf(run: RunDto): string {
  return run.error === null ? '' : `: ${run.error.code}: ${run.error.message}`;
}

function jsonField(text: string, field: string): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
