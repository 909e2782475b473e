/**
 * `agentry smoke`'s checks of a running deployment, made through its HTTP API alone, in order
 * (`CHECK_NAMES`): probes, authentication, the OpenAPI document, spec validation, a run of the
 * built-in `agentry-smoke` workflow (a transform, a durable sleep, a signal) to success and its
 * recorded attempts, a second one cancelled, a human task decided through the tasks API (by the
 * reviewer key when given), a read-only key refused a write, the audit log, the credential
 * inventory, and the `/metrics` counters the runs moved. Each check ends `pass`, `warn` (works,
 * but worth a look), `skip` (could not apply) or `fail` with the reason; the report lists them
 * in order, after any made before (`--env-file`'s `config`).
 *
 *   const report = await runSmoke({ connect: (o) => new RemoteClient({ url, ...o }), keys: { main: apiKey }, timeoutMs: 60_000 });
 *   process.exitCode = smokeExitCode(report);
 */
import { randomBytes } from 'node:crypto';
import { AgentryError, ERROR_CODES, isErrorCode } from '../lib/errors.js';
import type { RemoteClient } from './remote.js';
import { checkAudit, checkCredentials, checkViewerWrite } from './smoke-access.js';
import {
  CHECK_NAMES,
  CheckFailure,
  errorText,
  newState,
  seconds,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  type Context,
  type Outcome,
} from './smoke-check.js';
import { checkKey, checkLivez, checkOpenapi, checkReadyz, checkSpecs, checkWrongKey } from './smoke-probes.js';
import { checkCancel, checkCheckpoints, checkHuman, checkMetrics, checkRun, cleanup, metricsBefore } from './smoke-runs.js';

export { CHECK_NAMES, seconds, type CheckResult, type CheckStatus };

export interface SmokeReport {
  url: string;
  ok: boolean;
  duration_ms: number;
  checks: CheckResult[];
  summary: Record<CheckStatus, number>;
}

export interface SmokeKeys {
  /** The key of every check but the two below (none: auth must be off). */
  main: string | undefined;
  /** A read-only key: reads a run, is refused a write (`viewer-write`; skipped without one). */
  viewer?: string | undefined;
  /** The key that decides the human task (default: the main key). */
  reviewer?: string | undefined;
}

export interface SmokeOptions {
  /** A client of the server sending `apiKey` (none when undefined), each of its requests aborted by `signal`. */
  connect: (options: { apiKey?: string; signal: AbortSignal }) => RemoteClient;
  keys: SmokeKeys;
  /** For the whole check: past it, the check running fails and the rest are skipped. */
  timeoutMs: number;
  /** A server with auth off fails `auth-refuses` instead of warning. */
  expectAuth?: boolean;
  /** Other values no answer may contain (the env file's secrets); the keys are added. */
  secrets?: readonly string[];
  /** Results of checks made before these (`--env-file`'s `config`), first in the report. */
  before?: readonly CheckResult[];
  /** Told of each result as it is known (for printing as the checks go). */
  onResult?: (result: CheckResult) => void;
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const startedAt = Date.now();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const { keys } = options;
  const clientOf = (apiKey: string | undefined, signal: AbortSignal): RemoteClient => options.connect({ ...(apiKey === undefined ? {} : { apiKey }), signal });
  const client = clientOf(keys.main, deadline);
  const ctx: Context = {
    client,
    viewer: { option: '--viewer-key', client: keys.viewer === undefined ? undefined : clientOf(keys.viewer, deadline) },
    reviewer: { option: '--reviewer-key', client: keys.reviewer === undefined ? undefined : clientOf(keys.reviewer, deadline) },
    deadline,
    timeoutMs: options.timeoutMs,
    expectAuth: options.expectAuth === true,
    secrets: [...(options.secrets ?? []), ...[keys.main, keys.viewer, keys.reviewer].filter((key): key is string => key !== undefined)],
  };
  const state = newState();
  const wrongKey = clientOf(`agentry-smoke-wrong-key-${randomBytes(12).toString('hex')}`, deadline);
  const checks: Record<(typeof CHECK_NAMES)[number], () => Promise<Outcome>> = {
    livez: () => checkLivez(client),
    readyz: () => checkReadyz(client),
    'auth-refuses': () => checkWrongKey(wrongKey, ctx, state),
    'auth-accepts': () => checkKey(client, keys.main, state),
    openapi: () => checkOpenapi(client),
    specs: () => checkSpecs(client, state),
    run: async () => {
      await metricsBefore(client, state);
      return checkRun(ctx, state);
    },
    checkpoints: () => checkCheckpoints(ctx, state),
    cancel: () => checkCancel(ctx, state),
    human: () => checkHuman(ctx, state),
    'viewer-write': () => checkViewerWrite(ctx, state),
    audit: () => checkAudit(ctx, state),
    credentials: () => checkCredentials(ctx, state),
    metrics: () => checkMetrics(ctx, state),
  };
  const results: CheckResult[] = [...(options.before ?? [])];
  try {
    for (const name of CHECK_NAMES) {
      const result = await runCheck(name, checks[name], ctx);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    // After the deadline too: its own, short one.
    await cleanup(clientOf(keys.main, AbortSignal.timeout(CLEANUP_MS)), state);
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, skip: 0, fail: 0 };
  for (const result of results) summary[result.status] += 1;
  return { url: client.url, ok: summary.fail === 0, duration_ms: Date.now() - startedAt, checks: results, summary };
}

const CLEANUP_MS = 5_000;

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
    const failed = { name, status: 'fail' as const, duration_ms: elapsed() };
    if (error instanceof CheckFailure) return { ...failed, detail: error.message, ...(error.code === undefined ? {} : { code: error.code }) };
    if (error instanceof AgentryError) return { ...failed, detail: errorText(error), code: error.code };
    return { ...failed, detail: error instanceof Error ? error.message : String(error) };
  }
}
